"""Run a function under a two-replica MirroredStrategy on CPU logical devices.

TensorFlow fixes its devices when it first initializes, so the function runs in
a fresh subprocess: `run_in_two_replicas("module:function")` imports and calls
it there with two logical CPUs configured, and returns what it printed as JSON.
"""

import json
import os
import subprocess
import sys
import textwrap

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_in_two_replicas(target, timeout=600):
    """`target` is "tests.module:function"; the function gets a strategy and
    returns something JSON-serializable."""
    module, func = target.split(":")
    code = textwrap.dedent(f"""
        import json, os, sys
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
        sys.path.insert(0, {_ROOT!r}); sys.path.insert(0, {os.path.join(_ROOT, 'tests')!r})
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        assert strategy.num_replicas_in_sync == 2
        import importlib
        result = getattr(importlib.import_module({module!r}), {func!r})(strategy)
        print("__RESULT__" + json.dumps(result))
    """)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise AssertionError(f"two-replica run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    for line in proc.stdout.splitlines():
        if line.startswith("__RESULT__"):
            return json.loads(line[len("__RESULT__"):])
    raise AssertionError(f"no result printed:\n{proc.stdout[-3000:]}")
