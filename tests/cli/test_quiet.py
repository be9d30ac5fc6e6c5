"""The `deeprob` command's log levels (deeprob_keras/quiet.py): known-harmless logs and warnings are
dropped before TensorFlow loads, real ones still show, and --verbose / DEEPROB_VERBOSE=1 shows all."""

import os
import subprocess
import sys

import pytest

from deeprob_keras.quiet import HarmlessFilter, running_as_command

DEEPROB = os.path.join(os.path.dirname(sys.executable), "deeprob")
# A process that sets the command's levels, then logs what TFX, TensorFlow and Google's libraries log.
EMIT = r"""
import logging, warnings
from deeprob_keras.quiet import quiet_logs
quiet_logs()
from absl import logging as absl_logging
absl_logging.warning("ArtifactQuery.property_predicate is not supported.")
absl_logging.warning("a real absl warning")
absl_logging.info("an absl info line")
logging.getLogger("tensorflow").warning("Local rendezvous is aborting with status: OUT_OF_RANGE: End of sequence")
logging.getLogger("tensorflow").warning("From %s: tf_record_iterator (from tensorflow.python.lib.io.tf_record) is "
                                        "deprecated and will be removed in a future version.\nInstructions for "
                                        "updating:\nUse eager execution", "tensorflow_model_analysis/writers.py:112")
logging.getLogger("tensorflow").warning("a real tensorflow warning")
warnings.warn_explicit("Support for google-cloud-storage < 3.0.0 will be removed", FutureWarning,
                       "models.py", 52, module="google.cloud.aiplatform.models")
warnings.warn_explicit("a real future warning", FutureWarning, "ours.py", 1, module="deeprob_keras.ours")
"""


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "DEEPROB_VERBOSE")}
    return {**env, **extra}


def _emit(**env):
    proc = subprocess.run([sys.executable, "-c", EMIT], capture_output=True, text=True, env=_env(**env),
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_harmless_records_are_dropped_real_warnings_kept():
    err = _emit()
    assert "property_predicate" not in err and "Local rendezvous" not in err and "tf_record_iterator" not in err
    assert "google-cloud-storage" not in err
    assert "a real absl warning" in err and "a real tensorflow warning" in err and "a real future warning" in err
    assert "an absl info line" not in err


def test_verbose_environment_shows_everything():
    err = _emit(DEEPROB_VERBOSE="1")
    for text in ("property_predicate", "Local rendezvous", "tf_record_iterator", "google-cloud-storage",
                 "an absl info line", "a real absl warning"):
        assert text in err, text


def test_filter_matches_inside_formatted_messages():
    import logging

    record = logging.LogRecord("absl", logging.WARNING, "x.py", 1, "%s.property_predicate is not supported.",
                               ("ArtifactQuery",), None)
    assert not HarmlessFilter().filter(record)
    record.msg, record.args = "ArtifactQuery.%s", ("something else",)
    assert HarmlessFilter().filter(record)


@pytest.mark.parametrize("argv0, expected", [("/venv/bin/deeprob", True), ("-m", True),
                                             ("/usr/bin/python", False), ("", False)])
def test_only_the_command_changes_levels(argv0, expected):
    assert running_as_command(argv0) is expected


def test_serve_check_error_is_its_only_line(tmp_path):
    proc = subprocess.run([DEEPROB, "serve-check", str(tmp_path / "missing")], capture_output=True, text=True,
                          env=_env(), timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"serve-check: serving directory not found: {tmp_path / 'missing'}"]
    assert proc.stdout == ""


def test_pipeline_config_error_is_its_only_line(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("max_train_examples: 0\n")
    proc = subprocess.run([DEEPROB, "pipeline", "run", "--config", str(path)], capture_output=True, text=True,
                          env=_env(), timeout=300)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deeprob: bad recipe: p.yaml.max_train_examples"), proc.stderr
    assert proc.stdout == ""


def test_verbose_shows_tensorflow_logs_before_the_error(tmp_path):
    path = tmp_path / "nan.yaml"
    path.write_text("optimizer:\n  learning_rate: .nan\n")
    proc = subprocess.run([DEEPROB, "train", str(path), "--verbose"], capture_output=True, text=True, env=_env(),
                          timeout=300)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("deeprob: bad recipe:")
    assert any("tensorflow" in line or "cuda" in line.lower() for line in lines[:-1]), proc.stderr
