"""`deeprob train` end to end on a few hundred real examples."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEEPROB = os.path.join(os.path.dirname(sys.executable), "deeprob")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "run"
    proc = subprocess.run(
        [DEEPROB, "train", os.path.join(ROOT, "recipes/fashion_mnist.yaml"),
         "--epochs", "2", "--limit-examples", "384", "--out", str(out)],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "test accuracy:" in proc.stdout and "outputs:" in proc.stdout
    return out


def test_every_artifact_is_written(run_dir):
    for name in ("recipe.yaml", "history.csv", "learning_curves.png", "model.keras", "best.keras", "metrics.json"):
        assert (run_dir / name).stat().st_size > 0, name
    assert any((run_dir / "tensorboard").rglob("events.out.tfevents*"))
    versions = [p for p in (run_dir / "serving").iterdir() if p.name.isdigit()]
    assert len(versions) == 1 and (versions[0] / "saved_model.pb").exists()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2 and 0.0 <= metrics["test_accuracy"] <= 1.0
    header = (run_dir / "history.csv").read_text().splitlines()[0]
    for column in ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_seconds"):
        assert column in header.split(","), header


def test_saved_model_in_fresh_process_matches_keras_model(run_dir):
    """Both signatures of the exported SavedModel, loaded in a new process, give the
    Keras model's probabilities on real test examples."""
    script = f"""
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, tensorflow as tf, keras
sys.path.insert(0, {ROOT!r})
from deeprob_keras.data import load_arrays, encode_example
import deeprob_keras  # registers our objects
_, (x, y), _ = load_arrays("fashion_mnist")
x, y = x[:16], y[:16]
serving = os.path.join({str(run_dir)!r}, "serving")
version = sorted(os.listdir(serving))[-1]
loaded = tf.saved_model.load(os.path.join(serving, version))
examples = tf.constant([encode_example(img, lab) for img, lab in zip(x, y)])
p_examples = loaded.signatures["serving_default"](examples=examples)["probabilities"].numpy()
p_images = loaded.signatures["serving_images"](images=tf.constant(x, tf.float32) / 255.0)["probabilities"].numpy()
model = keras.saving.load_model(os.path.join({str(run_dir)!r}, "model.keras"), safe_mode=True)
p_keras = model.predict(x.astype("float32") / 255.0, verbose=0)
print(json.dumps({{"examples": p_examples.tolist(), "images": p_images.tolist(), "keras": p_keras.tolist()}}))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-5000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    keras_probs = np.array(out["keras"])
    assert keras_probs.shape == (16, 10)
    np.testing.assert_allclose(np.array(out["examples"]), keras_probs, atol=1e-5)
    np.testing.assert_allclose(np.array(out["images"]), keras_probs, atol=1e-5)
    np.testing.assert_allclose(keras_probs.sum(axis=1), 1.0, atol=1e-5)


def test_bad_recipe_exits_with_a_message_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("optimizer:\n  learning_rte: 0.1\n")
    proc = subprocess.run([DEEPROB, "train", str(bad)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "Did you mean 'learning_rate'?" in proc.stderr
    assert "Traceback" not in proc.stderr
