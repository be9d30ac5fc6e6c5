"""One run per --out: a recipe fingerprint refuses mixing two runs; a crash after the
last epoch (evaluation, export) resumes without retraining; a finished run says so."""

import json
import os

import keras
import pytest

from deeprob_keras.cli import main
from deeprob_keras.recipe import recipe_from_dict, save_recipe, with_overrides
from deeprob_keras.training import run_dir, train_recipe
from deeprob_keras.training.run_dir import RunDirConflict

SMALL = {"name": "tiny", "data": {"dataset": "digits", "limit_examples": 320},
         "model": {"widths": [4, 8]}, "training": {"epochs": 2, "batch_size": 64},
         "schedule": {"name": "constant"}}


def _recipe(**overrides):
    recipe = recipe_from_dict(SMALL)
    return with_overrides(recipe, overrides) if overrides else recipe


class _FitCounter:
    """Counts `keras.Model.fit` calls (patched in)."""

    def __init__(self, monkeypatch):
        self.calls = 0
        real_fit = keras.Model.fit

        def fit(model, *args, **kwargs):
            self.calls += 1
            return real_fit(model, *args, **kwargs)

        monkeypatch.setattr(keras.Model, "fit", fit)


def test_fingerprint_is_of_the_resolved_recipe():
    assert run_dir.recipe_fingerprint(_recipe()) == run_dir.recipe_fingerprint(_recipe())
    assert run_dir.recipe_fingerprint(_recipe()) != run_dir.recipe_fingerprint(_recipe(**{"training.epochs": 3}))
    assert len(run_dir.recipe_fingerprint(_recipe())) == 64


def test_status_and_refusal_without_training(tmp_path):
    out = str(tmp_path / "run")
    recipe, other = _recipe(), _recipe(**{"training.epochs": 3})
    assert run_dir.run_status(out, recipe) == "empty"
    run_dir.prepare_run_dir(out, recipe)
    save_recipe(recipe, os.path.join(out, "recipe.yaml"))
    os.makedirs(os.path.join(out, "backup"))
    assert run_dir.run_status(out, recipe) == "resume"
    assert run_dir.run_status(out, other) == "other"
    with pytest.raises(RunDirConflict) as info:
        run_dir.prepare_run_dir(out, other)
    message = str(info.value)
    assert "unfinished run of a different recipe (training.epochs 2 -> 3)" in message
    assert f"deeprob train {os.path.join(out, 'recipe.yaml')} --out {out}" in message
    assert "a new --out" in message and "--overwrite" in message and "\n" not in message


def test_a_run_written_before_fingerprints_is_recognised_by_its_recipe_yaml(tmp_path):
    out = str(tmp_path / "old")
    save_recipe(_recipe(), os.path.join(out, "recipe.yaml"))
    assert run_dir.run_status(out, _recipe()) == "resume"
    assert run_dir.run_status(out, _recipe(**{"seed": 4})) == "other"


def test_clear_run_removes_only_run_artifacts(tmp_path):
    out = tmp_path / "run"
    for name in ("backup", "serving", "member_0", "tensorboard"):
        (out / name).mkdir(parents=True)
    for name in ("metrics.json", "recipe.yaml", "run_state.json", "notes.txt"):
        (out / name).write_text("x")
    run_dir.clear_run(str(out))
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


@pytest.mark.slow
def test_crash_after_fit_resumes_without_retraining(tmp_path, monkeypatch):
    import deeprob_keras.training.run as run_module

    out = str(tmp_path / "run")
    recipe = _recipe()

    def broken_export(*args, **kwargs):
        raise OSError(28, "No space left on device", os.path.join(out, "serving"))

    monkeypatch.setattr(run_module, "export_serving_version", broken_export)
    with pytest.raises(OSError, match="No space left"):
        train_recipe(recipe, out, verbose=0)
    # The fitted model and the backup are still there; the run is not marked complete.
    assert os.path.isdir(os.path.join(out, "backup"))
    assert os.path.exists(os.path.join(out, run_dir.FITTED_WEIGHTS))
    assert not os.path.exists(os.path.join(out, "metrics.json"))
    assert run_dir.run_status(out, recipe) == "resume"
    rows_before = (tmp_path / "run" / "history.csv").read_text()

    monkeypatch.undo()
    counter = _FitCounter(monkeypatch)
    result = train_recipe(recipe, out, verbose=0)
    assert counter.calls == 0, "the rerun trained again"
    assert result.metrics["epochs_run"] == 2
    assert (tmp_path / "run" / "history.csv").read_text() == rows_before
    assert os.path.exists(result.paths["saved_model"])
    # Complete: what was kept for resuming is gone, the state says so.
    assert not os.path.exists(os.path.join(out, "backup"))
    assert not os.path.exists(os.path.join(out, run_dir.FITTED_WEIGHTS))
    assert run_dir.run_status(out, recipe) == "complete"


@pytest.mark.slow
def test_crash_mid_fit_then_other_recipe_is_refused(tmp_path):
    out = str(tmp_path / "run")

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        train_recipe(_recipe(**{"training.epochs": 3}), out, verbose=0, extra_callbacks=[Crash()])
    assert os.path.isdir(os.path.join(out, "backup"))
    with pytest.raises(RunDirConflict, match="unfinished run of a different recipe"):
        train_recipe(_recipe(**{"training.epochs": 3, "optimizer.learning_rate": 0.01}), out, verbose=0)
    assert os.path.isdir(os.path.join(out, "backup")), "the refusal must not touch the run"


@pytest.mark.slow
def test_cli_finished_run_other_recipe_and_overwrite(tmp_path, capsys, monkeypatch):
    recipe_path = str(tmp_path / "tiny.yaml")
    save_recipe(_recipe(), recipe_path)
    other_path = str(tmp_path / "other.yaml")
    save_recipe(_recipe(**{"seed": 7}), other_path)
    out = str(tmp_path / "run")

    assert main(["train", recipe_path, "--out", out]) == 0
    metrics = json.loads(open(os.path.join(out, "metrics.json")).read())
    versions = os.listdir(os.path.join(out, "serving"))
    capsys.readouterr()

    counter = _FitCounter(monkeypatch)
    assert main(["train", recipe_path, "--out", out]) == 0
    captured = capsys.readouterr()
    assert counter.calls == 0
    assert captured.out.strip().splitlines() == [
        f"deeprob: {out} already holds this recipe's finished run ({os.path.join(out, 'metrics.json')}); "
        "nothing retrained (--overwrite to train it again)"]

    assert main(["train", other_path, "--out", out]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "finished run of a different recipe (seed 0 -> 7)" in err[0], err
    assert "--overwrite" in err[0] and "Traceback" not in err[0]
    assert counter.calls == 0
    assert json.loads(open(os.path.join(out, "metrics.json")).read()) == metrics
    assert os.listdir(os.path.join(out, "serving")) == versions, "the refused run touched serving/"

    assert main(["train", other_path, "--out", out, "--overwrite"]) == 0
    assert counter.calls == 1
    assert run_dir.run_status(out, _recipe(**{"seed": 7})) == "complete"
    assert len(os.listdir(os.path.join(out, "serving"))) == 1, "serving/ mixes two recipes' versions"


def test_crash_between_export_and_metrics_reexports_into_the_same_version(tmp_path, monkeypatch):
    import deeprob_keras.training.run as run_module

    out = str(tmp_path / "run")
    recipe = _recipe()
    real_export = run_module.export_serving_version
    exported = []

    def export_then_crash(*args, **kwargs):
        exported.append(real_export(*args, **kwargs))
        raise OSError(28, "No space left on device", os.path.join(out, "metrics.json"))

    monkeypatch.setattr(run_module, "export_serving_version", export_then_crash)
    with pytest.raises(OSError, match="No space left"):
        train_recipe(recipe, out, verbose=0)
    monkeypatch.undo()
    result = train_recipe(recipe, out, verbose=0)
    versions = [p for p in os.listdir(os.path.join(out, "serving")) if p.isdigit()]
    assert versions == [os.path.basename(exported[0])], "a second SavedModel version of the same run"
    assert os.path.samefile(result.paths["saved_model"], exported[0])


def test_a_new_run_exports_a_newer_version(tmp_path):
    out = str(tmp_path / "run")
    os.makedirs(os.path.join(out, "serving", "99999999999"))  # a version from the future
    run_dir.prepare_run_dir(out, _recipe())
    first = run_dir.serving_version(out)
    assert first == 100000000000 and run_dir.serving_version(out) == first
    run_dir.prepare_run_dir(out, _recipe())  # the same unfinished run: resumed, same version
    assert run_dir.serving_version(out) == first


@pytest.mark.slow
def test_sigkill_during_evaluation_or_export_then_same_command_finishes_without_retraining(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    recipe_path = str(tmp_path / "tiny.yaml")
    save_recipe(_recipe(**{"training.epochs": 3}), recipe_path)
    out = tmp_path / "run"
    cmd = [os.path.join(os.path.dirname(sys.executable), "deeprob"), "train", recipe_path, "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    # fitted.json is written right after the last epoch; evaluation, model.keras, the
    # SavedModel export and metrics.json follow (seconds of work).
    while not (out / run_dir.FITTED_INFO).exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "metrics.json").exists(), "killed too late: the run had completed"
    rows = (out / "history.csv").read_text()

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "had finished before the crash" in rerun.stdout
    assert not [line for line in rerun.stdout.splitlines() if line.startswith("Epoch ")], "it trained again"
    assert (out / "history.csv").read_text() == rows
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 3
    assert len([p for p in (out / "serving").iterdir() if p.name.isdigit()]) == 1
    assert not (out / "backup").exists() and not (out / run_dir.FITTED_INFO).exists()

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "already holds this recipe's finished run" in again.stdout
