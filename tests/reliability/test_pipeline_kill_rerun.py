"""`deeprob pipeline run` killed (SIGKILL, whole process group) while the Trainer trains, then the
same command again: the finished components are reused from ML Metadata (CACHED), the run completes,
and the serving directory holds exactly one complete version, never a partial one."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from deeprob_pipeline.metadata import run_summary

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEEPROB = os.path.join(os.path.dirname(sys.executable), "deeprob")
BEFORE_TRAINER = ["ImportExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "AnomalyGate"]
# From scratch (no pretrained backbone), tiny, no BatchNorm (as tests/pipeline/test_pipeline_e2e.py).
SMALL = {"model.widths": [8, 16], "model.batch_norm": False, "optimizer.name": "adam",
         "regularization.penalty": "none", "schedule.warmup_epochs": 0, "training.batch_size": 32,
         "callbacks.backup": False}


def _write_config(root):
    config = dict(pipeline_name="deeprob-kill-rerun", pipeline_root=f"{root}/root",
                  metadata_path=f"{root}/metadata.sqlite", serving_dir=f"{root}/serving",
                  examples_dir=f"{root}/data", recipe=os.path.join(ROOT, "recipes/fashion_mnist.yaml"),
                  recipe_overrides=SMALL, max_train_examples=1000, max_eval_examples=200, epochs=1,
                  enable_tuner=False, search_space=None, accuracy_lower_bound=0.0)
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, config


def _versions(serving_dir):
    return sorted(os.listdir(serving_dir)) if os.path.isdir(serving_dir) else []


def _files_under(trainer_dir, output):
    folder = os.path.join(trainer_dir, output)
    return [f for _, _, files in os.walk(folder) for f in files] if os.path.isdir(folder) else []


def _read(path):
    return path.read_text(errors="replace") if path.exists() else ""


@pytest.mark.long  # over a minute: `make test-long`
def test_pipeline_killed_during_trainer_then_same_command_completes(tmp_path):
    config_path, config = _write_config(tmp_path)
    cmd = [DEEPROB, "pipeline", "run", "--config", str(config_path)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log1 = tmp_path / "run1.log"
    with open(log1, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env,
                                start_new_session=True)  # its own process group
    trainer_dir = os.path.join(config["pipeline_root"], "Trainer")
    deadline = time.time() + 600
    try:
        # The Trainer has started training: it writes its first logs under Trainer/model_run/<id>/.
        while time.time() < deadline and proc.poll() is None and not _files_under(trainer_dir, "model_run"):
            time.sleep(0.1)
        assert proc.poll() is None, "the run ended before the Trainer could be killed:\n" + _read(log1)[-3000:]
        assert _files_under(trainer_dir, "model_run"), "the Trainer did not start within 10 minutes"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    killed = run_summary(config["metadata_path"], config["pipeline_name"])
    assert killed["executions"]["Trainer"] == ["RUNNING"], killed["executions"]  # killed inside the Trainer
    assert all(killed["executions"][n] == ["COMPLETE"] for n in BEFORE_TRAINER), killed["executions"]
    assert "Pusher" not in killed["executions"]
    assert not [v for v in _versions(config["serving_dir"]) if v.isdigit()], "something was pushed"

    rerun = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "did not finish (Trainer RUNNING); resuming" in rerun.stdout, rerun.stdout[-3000:]

    resumed = run_summary(config["metadata_path"], config["pipeline_name"])
    assert resumed["run"] != killed["run"]
    executions = resumed["executions"]
    assert {n: executions.get(n) for n in BEFORE_TRAINER} == {n: ["CACHED"] for n in BEFORE_TRAINER}
    for node in ("Trainer", "Evaluator", "Pusher"):
        assert executions[node] == ["COMPLETE"], executions

    versions = _versions(config["serving_dir"])
    assert len(versions) == 1 and versions[0].isdigit(), versions  # no .tmp-* left either
    version_dir = os.path.join(config["serving_dir"], versions[0])

    from deeprob_pipeline.atomic_pusher import is_complete_saved_model
    from deeprob_pipeline.serve_check import newest_version

    assert is_complete_saved_model(version_dir)
    assert newest_version(config["serving_dir"], serving_dir=config["serving_dir"]) == version_dir

    import keras
    import tensorflow as tf

    from deeprob_keras.data import encode_example, load_arrays, preprocess_images

    model_run = max(resumed["artifacts"]["ModelRun"], key=lambda a: a.id).uri
    keras_model = keras.saving.load_model(os.path.join(model_run, "model.keras"))
    _, (images, _), _ = load_arrays("fashion_mnist")
    images = images[:50]
    served = tf.saved_model.load(version_dir).signatures["serving_default"](
        examples=tf.constant([encode_example(im, 0) for im in images]))["probabilities"].numpy()
    np.testing.assert_allclose(served, keras_model.predict(preprocess_images(images), verbose=0), atol=1e-5)
