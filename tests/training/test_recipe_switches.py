"""Every technique switched on from recipe keys reaches training and export."""

import os

import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.ensembles import Ensemble
from deeprob_keras.augment import TestTimeAugmentation
from deeprob_keras.recipe import Recipe, with_overrides
from deeprob_keras.training import train_recipe

pytestmark = pytest.mark.slow

SMALL = {"model.widths": [8, 16], "data.limit_examples": 256, "training.batch_size": 64,
         "schedule.warmup_epochs": 0.0, "callbacks.backup": False}


def _train(tmp_path, **overrides):
    recipe = with_overrides(Recipe(name="switches"), {**SMALL, **overrides})
    return train_recipe(recipe, str(tmp_path), verbose=0)


def test_everything_on_trains_and_exports(tmp_path):
    result = _train(
        tmp_path,
        **{"training.epochs": 4,
           "augmentation.flip": True, "augmentation.scale_min": 28, "augmentation.scale_max": 32,
           "augmentation.crop_size": 28, "augmentation.brightness": 0.1, "augmentation.contrast": 0.1,
           "augmentation.random_erasing": 0.5, "augmentation.randaugment_ops": 2,
           "augmentation.mixup_alpha": 0.2, "augmentation.cutmix_alpha": 1.0, "augmentation.tta": "flip",
           "regularization.label_smoothing": 0.1, "regularization.penalty": "elastic_net",
           "regularization.l1": 1e-5, "regularization.l2": 1e-4,
           "model.head_dropout": 0.2, "model.head": "dropconnect", "model.stochastic_depth": 0.2,
           "model.pooling": "fractional_max",
           "optimizer.use_ema": True, "optimizer.weight_decay": 1e-4,
           "schedule.name": "cosine_restarts", "schedule.cycle_epochs": 2.0,
           "callbacks.snapshots": True, "callbacks.update_ratio_every": 2})
    m = result.metrics
    assert m["snapshots"] == 2 and np.isfinite(m["test_loss"])
    assert isinstance(result.model, TestTimeAugmentation)
    assert isinstance(result.model.base_model, Ensemble) and len(result.model.base_model.members) == 2
    loaded = tf.saved_model.load(result.paths["saved_model"])
    x = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype("float32")
    probs = loaded.signatures["serving_images"](images=tf.constant(x))["probabilities"].numpy()
    np.testing.assert_allclose(probs, result.model(x).numpy(), atol=1e-5)


def test_independent_members_are_averaged(tmp_path):
    result = _train(tmp_path, **{"training.epochs": 1, "training.ensemble_members": 2})
    assert isinstance(result.model, Ensemble)
    assert len(result.metrics["member_test_accuracy"]) == 2
    assert os.path.exists(os.path.join(str(tmp_path), "member_1", "history.csv"))
