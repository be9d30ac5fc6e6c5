# Moved from tests/packaging/: a folder named "packaging" under tests/ (on sys.path via conftest) shadowed the PyPI "packaging" module and broke every test.
"""`pip install deeprob-keras` without extras: the library and its commands, no TFX.

A fresh venv (no system site-packages) gets the project installed from this
source tree without extras, then:
- `import deeprob_keras` works and TFX / TFMA are not installed;
- `deeprob train` runs a tiny recipe for one epoch (sklearn's digits, an MLP);
- `deeprob pipeline run` prints one line naming the extra to install, exit 2.

It needs PyPI (or a pip configuration that reaches a mirror or a wheelhouse):
the base stack is ~2 GB (TensorFlow 2.16.2). Without network it is skipped.
The versions are constrained (`-c`) to those of the environment running the
test (the full `.[pipeline,test]` install): without that, pip's resolver
backtracked for more than 15 minutes here over the unpinned base dependencies
(even with keras and tensorflow-datasets pinned); with it, resolving takes ~1.5 min.
Set DEEPROB_BASE_INSTALL_VENV=/some/dir to keep the venv between runs
(a second run then only reinstalls the project).
"""

import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INSTALL_TIMEOUT = 900

pytestmark = pytest.mark.slow


def _pypi_reachable():
    if os.environ.get("PIP_INDEX_URL") or os.environ.get("PIP_FIND_LINKS"):
        return True  # the user pointed pip somewhere else: let pip try
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


def _run(argv, timeout, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)


def _base_python():
    """The interpreter the test venv is created from (not this venv's, to be sure nothing leaks in)."""
    return getattr(sys, "_base_executable", None) or sys.executable


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory):
    if not _pypi_reachable():
        pytest.skip("no network: installing the base stack (TensorFlow 2.16.2, ~2 GB) needs PyPI "
                    "or PIP_INDEX_URL / PIP_FIND_LINKS pointing at a mirror or wheelhouse")
    venv = os.environ.get("DEEPROB_BASE_INSTALL_VENV") or str(tmp_path_factory.mktemp("base") / "venv")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        r = _run([_base_python(), "-m", "venv", venv], timeout=120)  # no --system-site-packages
        assert r.returncode == 0, r.stderr
    started = time.time()
    constraints = os.path.join(os.path.dirname(venv), "constraints.txt")
    frozen = _run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], timeout=120).stdout
    with open(constraints, "w") as f:
        f.writelines(line + "\n" for line in frozen.splitlines()
                     if line and not line.startswith(("-e", "#")) and "@" not in line
                     and not line.lower().startswith("deeprob"))
    # Non-editable, no extras: what `pip install deeprob-keras` gives, at the versions tested here.
    # --no-compile: only the few modules the tests import get bytecode (on import), not all of TensorFlow.
    r = _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
              "-c", constraints, ROOT],
             timeout=INSTALL_TIMEOUT)
    if r.returncode != 0 and ("NewConnectionError" in r.stderr or "Temporary failure in name resolution" in r.stderr
                              or "No matching distribution found" in r.stderr and "Could not fetch" in r.stderr):
        pytest.skip(f"pip could not reach an index: {r.stderr.strip().splitlines()[-1]}")
    assert r.returncode == 0, r.stdout + r.stderr
    print(f"base install: {time.time() - started:.0f} s into {venv}")
    return venv


def test_base_install_has_the_library_and_no_tfx(base_venv):
    python = os.path.join(base_venv, "bin", "python")
    code = textwrap.dedent("""
        import importlib.util, sys
        import deeprob_keras
        from deeprob_keras import layers, schedules, callbacks, training
        missing = [m for m in ("tfx", "tensorflow_model_analysis", "kfp", "apache_beam")
                   if importlib.util.find_spec(m) is not None]
        assert not missing, f"installed without the extra: {missing}"
        assert ".venv" not in deeprob_keras.__file__, deeprob_keras.__file__
        assert "tfx" not in sys.modules
        print("ok", deeprob_keras.__file__)
    """)
    r = _run([python, "-c", code], timeout=300, cwd=base_venv, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("ok ") and base_venv in r.stdout


def test_base_install_pipeline_run_names_the_extra(base_venv):
    deeprob = os.path.join(base_venv, "bin", "deeprob")
    r = _run([deeprob, "pipeline", "run"], timeout=300, cwd=base_venv)
    assert r.returncode == 2, r.stdout + r.stderr
    # TensorFlow's own C++ log lines (cuFFT/cuDNN registration) may come first: only ours are checked.
    lines = [line for line in r.stderr.splitlines() if line.startswith("deeprob")]
    assert lines == ["deeprob: `deeprob pipeline` needs the pipeline extra: pip install 'deeprob-keras[pipeline]'"], \
        r.stderr
    assert r.stdout == ""


def test_base_install_trains_one_tiny_epoch(base_venv, tmp_path):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(textwrap.dedent("""
        name: tiny_digits
        data: {dataset: digits}
        model: {name: mlp, widths: [16]}
        training: {epochs: 1, batch_size: 64}
        schedule: {warmup_epochs: 0}
    """))
    deeprob = os.path.join(base_venv, "bin", "deeprob")
    r = _run([deeprob, "train", str(recipe), "--out", str(tmp_path / "out")], timeout=600, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "test accuracy:" in r.stdout
    assert (tmp_path / "out" / "model.keras").exists()
