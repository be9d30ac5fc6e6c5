"""The recipe's optimizers: Adagrad, and which variables decoupled weight decay touches."""

import keras
import numpy as np
import pytest

from deeprob_keras.models import build_model
from deeprob_keras.recipe import Recipe, with_overrides
from deeprob_keras.training import build_optimizer
from deeprob_keras.training.builders import no_decay_variables

LR, WD = 0.1, 0.5


def _model(recipe):
    keras.utils.set_random_seed(0)
    model = build_model(recipe, (12, 12, 1), 3)
    rng = np.random.default_rng(1)
    # Non-zero values everywhere (BN beta starts at 0, which decay would leave at 0).
    for v in model.trainable_variables:
        v.assign(rng.uniform(0.5, 1.5, size=v.shape).astype("float32"))
    return model


def _decay_step(overrides):
    """One step with zero gradients: only weight decay moves the weights."""
    recipe = with_overrides(Recipe(), {"model.widths": [4, 8], "model.head": "dense",
                                       "optimizer.name": "sgd", "optimizer.momentum": 0.0,
                                       "optimizer.nesterov": False, "optimizer.learning_rate": LR,
                                       "optimizer.weight_decay": WD, **overrides})
    model = _model(recipe)
    optimizer = build_optimizer(recipe.optimizer, LR, model=model)
    before = {v.path: np.array(v) for v in model.trainable_variables}
    optimizer.apply_gradients([(keras.ops.zeros_like(v), v) for v in model.trainable_variables])
    return model, {v.path: (before[v.path], np.array(v)) for v in model.trainable_variables}


def _decayed(changes):
    """path -> True if w_new = (1 - lr * wd) w_old, False if unchanged (else the test fails)."""
    out = {}
    for path, (old, new) in changes.items():
        if np.allclose(new, old, rtol=0, atol=0):
            out[path] = False
        else:
            np.testing.assert_allclose(new, old * (1 - LR * WD), rtol=1e-6, err_msg=path)
            out[path] = True
    return out


def _kind(path):
    return path.rsplit("/", 1)[-1]


def test_default_excludes_biases_and_batchnorm_parameters():
    model, changes = _decay_step({})
    decayed = _decayed(changes)
    kinds = {_kind(p) for p in decayed}
    assert {"kernel", "bias", "gamma", "beta"} <= kinds  # the ResNet has every kind
    for path, was_decayed in decayed.items():
        assert was_decayed == (_kind(path) == "kernel"), path
    bn = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    assert bn and all(not decayed[v.path] for layer in bn for v in layer.trainable_variables)


def test_decay_all_parameters_includes_them():
    _, changes = _decay_step({"optimizer.decay_all_parameters": True})
    decayed = _decayed(changes)
    assert all(decayed.values()), [p for p, d in decayed.items() if not d]


def test_no_decay_variables_covers_layer_normalization():
    inputs = keras.Input((5,))
    x = keras.layers.Dense(4, name="d")(inputs)
    x = keras.layers.LayerNormalization(name="ln")(x)
    model = keras.Model(inputs, keras.layers.Dense(2, use_bias=False, name="out")(x))
    names = sorted(v.path for v in no_decay_variables(model))
    assert names == ["d/bias", "ln/beta", "ln/gamma"]


def test_without_weight_decay_nothing_is_excluded():
    recipe = with_overrides(Recipe(), {"model.widths": [4]})
    optimizer = build_optimizer(recipe.optimizer, LR, model=_model(recipe))
    assert optimizer.weight_decay is None
    assert not getattr(optimizer, "_exclude_from_weight_decay", set())


def test_adagrad_from_the_recipe():
    recipe = with_overrides(Recipe(), {"optimizer.name": "adagrad", "optimizer.learning_rate": 0.2,
                                       "optimizer.weight_decay": 1e-3, "optimizer.clipnorm": 5.0})
    optimizer = build_optimizer(recipe.optimizer, recipe.optimizer.learning_rate)
    assert isinstance(optimizer, keras.optimizers.Adagrad)
    config = optimizer.get_config()
    assert config["learning_rate"] == pytest.approx(0.2)
    assert config["weight_decay"] == pytest.approx(1e-3) and config["clipnorm"] == 5.0
    # Two steps against the formula: G += g^2, w -= lr g / sqrt(G + eps), G_0 = 0.1.
    recipe = with_overrides(recipe, {"optimizer.weight_decay": 0.0, "optimizer.clipnorm": None})
    optimizer = build_optimizer(recipe.optimizer, 0.2)
    w = keras.Variable(np.array([1.0, -2.0], "float32"))
    expected, acc = np.array([1.0, -2.0]), np.full(2, 0.1)
    for g in (np.array([0.5, -1.0]), np.array([2.0, 0.25])):
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g.astype("float32")), w)])
        acc = acc + g ** 2
        expected = expected - 0.2 * g / np.sqrt(acc + 1e-7)
    np.testing.assert_allclose(np.array(w), expected, rtol=1e-5)


def test_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="adagrad"):
        with_overrides(Recipe(), {"optimizer.name": "adadelta"})
