"""`deeprob train` over several replicas: the strategy choice, the global batch and the linear scaling rule."""

import json
import os
import subprocess
import sys

import pytest

from deeprob_keras.training.strategy import choose_strategy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("kwargs,match", [({"name": "gpus"}, "name"), ({"cpu_replicas": 1}, "cpu_replicas"),
                                          ({"cpu_replicas": True}, "cpu_replicas")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        choose_strategy(**kwargs)


def test_auto_without_gpus_is_one_device():
    assert choose_strategy("auto").num_replicas_in_sync == 1


@pytest.mark.slow
def test_train_on_two_cpu_replicas_scales_batch_and_learning_rate(tmp_path):
    recipe = tmp_path / "r.yaml"
    # per-replica batch 32 -> global 64; base_batch_size 32 -> peak lr 0.05 x 64 / 32 = 0.1
    recipe.write_text("name: two_replicas\nmodel: {widths: [4, 8]}\n"
                      "optimizer: {learning_rate: 0.05, base_batch_size: 32}\n"
                      "schedule: {warmup_epochs: 0}\ntraining: {epochs: 1, batch_size: 32}\n")
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "deeprob_keras.cli", "train", str(recipe), "--cpu-replicas", "2",
         "--limit-examples", "256", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "2 replica(s), global batch 64" in proc.stdout
    assert "peak learning rate 0.1," in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and 0.0 <= metrics["test_accuracy"] <= 1.0


def test_cli_refuses_one_cpu_replica(capsys):
    from deeprob_keras.cli import main

    assert main(["train", os.path.join(ROOT, "recipes", "fashion_mnist.yaml"), "--cpu-replicas", "1"]) == 2
    assert "--cpu-replicas" in capsys.readouterr().err
