"""Every technique switched on from recipe keys reaches training and export."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.ensembles import Ensemble
from deeprob_keras.augment import TestTimeAugmentation
from deeprob_keras.recipe import Recipe, with_overrides
from deeprob_keras.training import build_compiled_model, train_recipe

SMALL = {"model.widths": [8, 16], "data.limit_examples": 256, "training.batch_size": 64,
         "schedule.warmup_epochs": 0.0, "callbacks.backup": False}


def _train(tmp_path, **overrides):
    recipe = with_overrides(Recipe(name="switches"), {**SMALL, **overrides})
    return train_recipe(recipe, str(tmp_path), verbose=0)


class _Data:
    image_shape, num_classes, num_examples = (28, 28, 1), 10, {"train": 640}


def _build(**overrides):
    recipe = with_overrides(Recipe(name="switches"), {**SMALL, **overrides})
    model, _ = build_compiled_model(recipe, _Data(), tf.distribute.get_strategy())
    return model


def _layers(model, name):
    return [layer for layer in model._flatten_layers(include_self=False) if type(layer).__name__ == name]


@pytest.mark.parametrize("overrides,expected", [
    ({}, {"name": "SGD", "momentum": 0.9, "nesterov": True, "weight_decay": None, "clipnorm": None,
          "use_ema": False}),
    ({"optimizer.name": "adamw", "optimizer.weight_decay": 1e-4}, {"name": "AdamW", "weight_decay": 1e-4}),
    ({"optimizer.name": "adam"}, {"name": "Adam", "weight_decay": None}),
    ({"optimizer.name": "rmsprop", "optimizer.momentum": 0.5}, {"name": "RMSprop", "momentum": 0.5}),
    ({"optimizer.nesterov": False, "optimizer.momentum": 0.8}, {"momentum": 0.8, "nesterov": False}),
    ({"optimizer.clipnorm": 1.5}, {"clipnorm": 1.5}),
    ({"optimizer.use_ema": True, "optimizer.ema_momentum": 0.99}, {"use_ema": True, "ema_momentum": 0.99}),
])
def test_optimizer_switches(overrides, expected):
    optimizer = _build(**overrides).optimizer
    config = {**optimizer.get_config(), "name": type(optimizer).__name__}
    for key, value in expected.items():
        assert config[key] == (pytest.approx(value) if isinstance(value, float) else value), key


@pytest.mark.parametrize("overrides,schedule", [
    ({}, "CosineDecay"),
    ({"schedule.name": "cosine_restarts", "schedule.cycle_epochs": 2.0}, "CosineRestarts"),
    ({"schedule.name": "step", "schedule.boundaries_epochs": [3.0, 6.0]}, "StepDecay"),
    ({"schedule.name": "constant", "schedule.warmup_epochs": 1.0}, "LinearWarmup"),
])
def test_schedule_switches(overrides, schedule):
    config = _build(**overrides).optimizer.get_config()
    assert config["learning_rate"]["class_name"] == schedule


@pytest.mark.parametrize("overrides,loss,config", [
    ({}, "SparseCategoricalCrossentropy", {}),
    ({"regularization.label_smoothing": 0.1}, "SmoothedCrossentropy", {"epsilon": 0.1, "num_classes": 10}),
    ({"augmentation.mixup_alpha": 0.2}, "CategoricalCrossentropy", {}),
    ({"augmentation.cutmix_alpha": 1.0, "regularization.label_smoothing": 0.2}, "SmoothedCrossentropy",
     {"epsilon": 0.2}),
])
def test_loss_switches(overrides, loss, config):
    built = _build(**overrides).loss
    assert type(built).__name__ == loss
    for key, value in config.items():
        assert built.get_config()[key] == pytest.approx(value), key


def test_model_switches():
    plain = _build()
    assert not _layers(plain, "Dropout") and not _layers(plain, "StochasticDepth")
    assert all(layer.kernel_regularizer is None for layer in _layers(plain, "Conv2D"))
    assert [layer.momentum for layer in _layers(plain, "BatchNormalization")] == [0.9] * 5
    assert _layers(plain, "Dense")

    model = _build(**{"model.head": "dropconnect", "model.head_dropconnect": 0.3, "model.head_dropout": 0.2,
                      "model.stochastic_depth": 0.2, "model.pooling": "fractional_max",
                      "model.bn_momentum": 0.8, "regularization.penalty": "l2", "regularization.l2": 1e-4})
    assert [layer.rate for layer in _layers(model, "Dropout")] == [0.2]
    assert [layer.get_config()["rate"] for layer in _layers(model, "DropConnectDense")] == [0.3]
    assert [layer.get_config()["rate"] for layer in _layers(model, "StochasticDepth")] == [
        pytest.approx(0.1), pytest.approx(0.2)]   # linear decay with depth up to 0.2
    assert len(_layers(model, "FractionalMaxPooling2D")) == 1
    assert {layer.momentum for layer in _layers(model, "BatchNormalization")} == {0.8}
    for layer in _layers(model, "Conv2D") + _layers(model, "DropConnectDense"):
        assert layer.kernel_regularizer.get_config() == {"l2": pytest.approx(1e-4)}, layer.name
    no_bn = _build(**{"model.batch_norm": False})
    assert not _layers(no_bn, "BatchNormalization")


@pytest.mark.slow
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


@pytest.mark.slow
def test_independent_members_are_averaged(tmp_path):
    result = _train(tmp_path, **{"training.epochs": 1, "training.ensemble_members": 2})
    assert isinstance(result.model, Ensemble)
    first, second = result.model.members
    # Different seeds: different initial and final weights, different predictions.
    assert any(np.abs(a - b).max() > 1e-3 for a, b in zip(first.get_weights(), second.get_weights()))
    x = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype("float32")
    assert np.abs(np.asarray(first(x)) - np.asarray(second(x))).max() > 1e-4
    np.testing.assert_allclose(np.asarray(result.model(x)), (np.asarray(first(x)) + np.asarray(second(x))) / 2,
                               atol=1e-5)
    assert len(result.metrics["member_test_accuracy"]) == 2
    assert os.path.exists(os.path.join(str(tmp_path), "member_1", "history.csv"))


class _SizeAtEachEpoch(keras.callbacks.Callback):
    """Records the ProgressiveResize layer's size at each epoch's first batch."""

    def __init__(self):
        super().__init__()
        self.sizes = []

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.sizes.append(int(self.model.get_layer("progressive_resize").size.numpy()[0]))


def test_progressive_resizing_from_the_recipe(tmp_path):
    record = _SizeAtEachEpoch()
    recipe = with_overrides(Recipe(name="switches"), {
        **SMALL, "training.epochs": 4, "training.progressive_resize_min": 14,
        "training.progressive_resize_epochs": 2, "augmentation.tta": "flip"})
    result = train_recipe(recipe, str(tmp_path), verbose=0, extra_callbacks=[record], export=False)
    assert record.sizes == [14, 21, 28, 28]
    assert tuple(result.metrics["plan"]["progressive_resize"]) == (14, 2)
    assert 0.0 <= result.metrics["test_accuracy"] <= 1.0
    assert _build().get_layer("stem_conv") is not None and not _layers(_build(), "ProgressiveResize")
