"""Multi-worker training: two real worker processes on 127.0.0.1 (MultiWorkerMirroredStrategy,
our own train step), the TF_CONFIG checks and the local launcher's failure handling."""

import json
import math
import os
import re
import subprocess
import sys

import pytest

from deeprob_keras.recipe import RecipeError, recipe_from_dict
from deeprob_keras.training.multi_worker import (
    ClusterConfigError, WorkerFailed, cluster_config, run_local_workers, train_multi_worker)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEEPROB = os.path.join(os.path.dirname(sys.executable), "deeprob")
TRAIN_EXAMPLES = 384
TINY = {
    "name": "tiny_multi_worker",
    "data": {"dataset": "digits", "limit_examples": TRAIN_EXAMPLES},
    "model": {"name": "small_resnet", "widths": [4, 8]},
    "optimizer": {"name": "sgd", "learning_rate": 0.1, "base_batch_size": 64},
    "schedule": {"name": "cosine"},
    "training": {"epochs": 2, "batch_size": 32},
}
DIGEST = re.compile(r"^\[worker (\d)\] deeprob: weights sha256 (\w+)\s+replicas in sync: (\d+)\s+workers: (\d+)\s+"
                    r"local examples \(last epoch\): (\d+)\s+local input checksum: ([\d.]+)", re.M)


def _worker_reports(stdout):
    return {int(m[0]): {"digest": m[1], "replicas": int(m[2]), "workers": int(m[3]),
                        "examples": int(m[4]), "checksum": float(m[5])} for m in DIGEST.findall(stdout)}


def _multi_worker_local(recipe_path, out, *extra):
    proc = subprocess.run([DEEPROB, "multi-worker-local", str(recipe_path), "--workers", "2", "--out", str(out),
                           *extra], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def two_worker_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("multi_worker")
    recipe_path = base / "tiny.yaml"
    recipe_path.write_text(json.dumps(TINY))  # JSON is YAML
    out = base / "run"
    return recipe_path, out, _multi_worker_local(recipe_path, out)


def test_two_workers_train_in_sync_on_different_shards(two_worker_run):
    _, out, stdout = two_worker_run
    reports = _worker_reports(stdout)
    assert sorted(reports) == [0, 1], stdout[-3000:]
    assert reports[0]["digest"] == reports[1]["digest"]  # identical weights, BatchNorm statistics included
    assert all(r["replicas"] == 2 and r["workers"] == 2 for r in reports.values())
    # Each worker trained on its own half of every global batch.
    assert reports[0]["examples"] + reports[1]["examples"] == TRAIN_EXAMPLES
    assert reports[0]["examples"] > 0 and reports[1]["examples"] > 0
    assert reports[0]["checksum"] != reports[1]["checksum"]
    # Progress and the summary come from the chief only.
    assert "[worker 0] epoch 2/2" in stdout and "[worker 1] epoch" not in stdout
    assert "[worker 0] test accuracy:" in stdout and "[worker 1] test accuracy:" not in stdout


def test_chief_writes_the_outputs(two_worker_run):
    import deeprob_keras
    from deeprob_keras.training.multi_worker import weights_digest

    _, out, stdout = two_worker_run
    assert sorted(os.listdir(out)) == ["best.keras", "best.keras.json", "checkpoints", "history.csv", "metrics.json",
                                       "model.keras", "recipe.yaml", "run_state.json"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["workers"] == 2 and metrics["global_batch_size"] == 64
    assert metrics["epochs_run"] == 2 and metrics["steps"] == 2 * math.ceil(TRAIN_EXAMPLES / 64)
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    losses = metrics["history"]["loss"]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses) and losses[1] < losses[0]
    assert len(metrics["history"]["val_accuracy"]) == 2
    # The saved model is the weights both workers ended with: the best validation epoch's (restore_best).
    model = deeprob_keras.load_model(str(out / "model.keras"))
    assert weights_digest(model) == _worker_reports(stdout)[0]["digest"]
    val = metrics["history"]["val_accuracy"]
    best = json.loads((out / "best.keras.json").read_text())
    assert best["monitor"] == "val_accuracy" and best["value"] == pytest.approx(max(val))
    assert metrics["restored_best_epoch"] == best["epoch"] == val.index(max(val))
    assert weights_digest(deeprob_keras.load_model(str(out / "best.keras"))) == weights_digest(model)


@pytest.mark.slow  # a second two-process run
def test_a_rerun_resumes_from_the_chiefs_checkpoint(two_worker_run):
    from deeprob_keras.training import run_dir

    recipe_path, out, _ = two_worker_run
    # As if a 3-epoch run had been killed after its epoch-2 checkpoint (a changed recipe, e.g. the
    # same one with more epochs, is another run: refused, see the test below).
    three = recipe_from_dict({**TINY, "training": {**TINY["training"], "epochs": 3}})
    state = json.loads((out / "run_state.json").read_text())
    state.update(recipe_sha256=run_dir.recipe_fingerprint(three), state="training")
    (out / "run_state.json").write_text(json.dumps(state))
    (out / "metrics.json").unlink()
    stdout = _multi_worker_local(recipe_path, out, "--epochs", "3")
    assert "[worker 0] deeprob: resuming from the checkpoint of epoch 2" in stdout
    assert "[worker 0] epoch 3/3" in stdout and "epoch 1/3" not in stdout
    reports = _worker_reports(stdout)
    assert reports[0]["digest"] == reports[1]["digest"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 3 and len(metrics["history"]["loss"]) == 3


@pytest.mark.parametrize("tf_config, expected", [
    (None, "needs the environment variable TF_CONFIG"),
    ("{not json", "TF_CONFIG is not valid JSON"),
    ('{"cluster": {"worker": ["127.0.0.1:2222"]}}', "a 'cluster' and a 'task' object"),
    ('{"cluster": {"worker": ["127.0.0.1:2222"]}, "task": {"type": "worker", "index": 1}}',
     "task.index must be an int in [0, 0]"),
    ('{"cluster": {"worker": ["127.0.0.1:2222"]}, "task": {"type": "chief", "index": 0}}', "task.type must be one of"),
    ('{"cluster": {"ps": ["127.0.0.1:2222"]}, "task": {"type": "ps", "index": 0}}', "only ['chief', 'worker'] tasks"),
    ('{"cluster": {"worker": ["no-port"]}, "task": {"type": "worker", "index": 0}}', "'host:port' strings"),
])
def test_bad_tf_config_is_named_in_the_error(tf_config, expected):
    environ = {} if tf_config is None else {"TF_CONFIG": tf_config}
    with pytest.raises(ClusterConfigError, match="TF_CONFIG") as info:
        cluster_config(environ)
    assert expected in str(info.value)


def test_train_multi_worker_without_tf_config_fails_before_training(monkeypatch, tmp_path):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ClusterConfigError, match="TF_CONFIG unset"):
        train_multi_worker(recipe_from_dict(TINY), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_unsupported_recipe_knobs_are_refused(tmp_path):
    recipe = recipe_from_dict({**TINY, "training": {**TINY["training"], "ensemble_members": 2},
                               "optimizer": {**TINY["optimizer"], "use_ema": True}})
    with pytest.raises(RecipeError, match="training.ensemble_members > 1, optimizer.use_ema"):
        train_multi_worker(recipe, tmp_path / "run")


def test_cli_without_tf_config_exits_2_with_a_message(tmp_path):
    recipe_path = tmp_path / "tiny.yaml"
    recipe_path.write_text(json.dumps(TINY))
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    proc = subprocess.run([DEEPROB, "train", str(recipe_path), "--multi-worker", "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "TF_CONFIG" in proc.stderr and "Traceback" not in proc.stderr


def test_a_failing_worker_stops_the_others(capsys):
    def command(i):
        code = "import time; time.sleep(300)" if i == 0 else "print('boom'); raise SystemExit(3)"
        return [sys.executable, "-c", code]

    with pytest.raises(WorkerFailed, match=r"worker 1 of 2 exited with code 3") as info:
        run_local_workers(command, workers=2)
    assert info.value.returncode == 3
    assert "[worker 1] boom" in capsys.readouterr().out


def test_a_nan_loss_stops_the_run_with_exit_3(tmp_path):
    """One worker is enough to drive the custom loop's NaN/Inf stop through the launcher."""
    recipe_path = tmp_path / "diverging.yaml"
    recipe_path.write_text(json.dumps({**TINY, "optimizer": {**TINY["optimizer"], "learning_rate": 1e8}}))
    proc = subprocess.run([DEEPROB, "multi-worker-local", str(recipe_path), "--workers", "1",
                           "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert re.search(r"\[worker 0\] deeprob: training stopped: Non-finite loss \(\w+\) at step \d+ \(batch \d+\): "
                     r"learning rate too high", proc.stdout), proc.stdout[-3000:]
    assert "worker 0 of 1 exited with code 3" in proc.stderr
    assert not (tmp_path / "run" / "model.keras").exists() and not (tmp_path / "run" / "metrics.json").exists()


def test_bad_recipe_exits_2_before_any_worker_starts(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("optimizer:\n  learning_rte: 0.1\n")
    proc = subprocess.run([DEEPROB, "multi-worker-local", str(bad), "--workers", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "Did you mean 'learning_rate'?" in proc.stderr and "Traceback" not in proc.stderr
    assert "starting 2 workers" not in proc.stdout


def test_another_recipes_run_in_out_is_refused_before_any_worker_starts(tmp_path):
    from deeprob_keras.training import run_dir

    out = tmp_path / "run"
    run_dir.prepare_run_dir(str(out), recipe_from_dict({**TINY, "seed": 7}))  # another recipe's unfinished run
    recipe_path = tmp_path / "tiny.yaml"
    recipe_path.write_text(json.dumps(TINY))
    proc = subprocess.run([DEEPROB, "multi-worker-local", str(recipe_path), "--workers", "2", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "holds an unfinished run of a different recipe" in proc.stderr, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "starting 2 workers" not in proc.stdout
