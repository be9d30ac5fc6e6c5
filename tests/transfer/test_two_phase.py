"""`training.two_phase.train_transfer` / `deeprob transfer train`: two phases through `train_recipe`, in one run."""

import json
import os

import keras
import numpy as np
import pytest

from deeprob_keras.recipe import load_recipe
from deeprob_keras.training.two_phase import phase_recipes
from deeprob_keras.transfer import get_backbone
from tests.transfer.helpers import transfer_recipe


def test_phase_recipes(pretrained_path, tmp_path):
    recipe = transfer_recipe(pretrained_path, mode="two_phase", feature_extraction_epochs=2, freeze_until="stage0")
    (p1, r1, d1), (p2, r2, d2) = phase_recipes(recipe, str(tmp_path))
    assert (p1, r1.transfer.mode, r1.training.epochs) == ("feature_extraction", "feature_extraction", 2)
    assert (p2, r2.transfer.mode, r2.training.epochs) == ("fine_tune", "fine_tune", 1)
    assert r2.transfer.initial_model == os.path.join(d1, "model.keras") and d2 == str(tmp_path)
    assert r2.transfer.freeze_until == "stage0" and r2.optimizer.learning_rate == recipe.optimizer.learning_rate


@pytest.mark.slow
def test_two_phase_run_starts_phase_two_from_phase_one(pretrained_path, tmp_path):
    from deeprob_keras.training import train_recipe

    recipe = transfer_recipe(pretrained_path, data={"dataset": "digits", "image_size": 28, "examples_per_class": 20},
                             mode="two_phase", feature_extraction_epochs=1, freeze_until="stage0")
    result = train_recipe(recipe, str(tmp_path), verbose=0)  # dispatches to train_transfer
    assert set(result.metrics["phases"]) == {"feature_extraction", "fine_tune"}
    phase1 = keras.saving.load_model(tmp_path / "feature_extraction" / "model.keras")
    final = result.model
    # phase 2 started from phase 1: the frozen bottom (stem) is the same in both, and
    # equal to the source; the fine-tuned stage1 moved
    source = keras.saving.load_model(pretrained_path)
    np.testing.assert_array_equal(get_backbone(final).get_layer("stem_conv").kernel.numpy(),
                                  source.get_layer("stem_conv").kernel.numpy())
    assert not np.allclose(get_backbone(final).get_layer("stage1_block0_a_conv").kernel.numpy(),
                           get_backbone(phase1).get_layer("stage1_block0_a_conv").kernel.numpy())
    saved = load_recipe(str(tmp_path / "recipe.yaml"))
    assert saved.transfer.mode == "fine_tune" and saved.transfer.initial_model.endswith("model.keras")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["phases"]["fine_tune"] == result.metrics["test_accuracy"]
    assert any(p.name.isdigit() for p in (tmp_path / "serving").iterdir())
    assert not (tmp_path / "feature_extraction" / "serving").exists()


def test_initial_model_gives_phase_two_the_same_function(pretrained_path, tmp_path):
    """Phase 2 (partly trainable) built from phase 1's file computes exactly phase 1's outputs."""
    from deeprob_keras.transfer import build_transfer_model

    first = build_transfer_model(transfer_recipe(pretrained_path, mode="feature_extraction"), (28, 28, 1), 5)
    kernel = first.get_layer("classifier").kernel
    kernel.assign(np.random.default_rng(0).normal(size=kernel.shape).astype("float32"))
    path = tmp_path / "phase1.keras"
    first.save(path)
    second = build_transfer_model(transfer_recipe(pretrained_path, mode="fine_tune", freeze_until="stage0",
                                                  initial_model=str(path)), (28, 28, 1), 5)
    x = np.random.default_rng(1).uniform(size=(4, 28, 28, 1)).astype("float32")
    for training in (False, True):  # InferenceMode: the same even in training mode
        np.testing.assert_allclose(np.asarray(second(x, training=training)), np.asarray(first(x, training=False)),
                                   atol=1e-6)
