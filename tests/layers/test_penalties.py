import keras
import numpy as np
import pytest

from deeprob_keras.layers import DropConnectDense, apply_weight_penalty, build_kernel_regularizer, kernel_regularizer
from deeprob_keras.recipe.schema import RegularizationSpec


def _model(regularizer=None, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6, 6, 2))
    h = keras.layers.Conv2D(3, 3, kernel_regularizer=regularizer, bias_initializer="ones")(inputs)
    h = keras.layers.BatchNormalization(gamma_initializer="ones")(h)
    h = keras.layers.SeparableConv2D(2, 3, depthwise_regularizer=regularizer,
                                     pointwise_regularizer=regularizer)(h)
    h = keras.layers.Flatten()(h)
    h = DropConnectDense(4, rate=0.5, kernel_regularizer=regularizer, bias_initializer="ones")(h)
    return keras.Model(inputs, keras.layers.Dense(1, kernel_regularizer=regularizer)(h))


def _kernels(model):
    return [np.asarray(v) for v in model.trainable_weights if "kernel" in v.path]


def _numpy_penalty(kernels, l1, l2):
    return sum(l2 * np.sum(w ** 2) + l1 * np.sum(np.abs(w)) for w in kernels)


CASES = [("l2", 0.0, 1e-2), ("l1", 3e-3, 0.0), ("elastic_net", 2e-3, 5e-3)]


@pytest.mark.parametrize("penalty,l1,l2", CASES)
def test_penalty_at_construction_is_sum_over_kernels_only(penalty, l1, l2):
    model = _model(kernel_regularizer(penalty, l1=l1, l2=l2))
    kernels = _kernels(model)
    assert len(kernels) == 5        # conv, depthwise, pointwise, dropconnect, dense; no bias/BN
    total = float(sum(np.asarray(loss) for loss in model.losses))
    np.testing.assert_allclose(total, _numpy_penalty(kernels, l1, l2), rtol=1e-5)


@pytest.mark.parametrize("penalty,l1,l2", CASES)
def test_penalty_attached_to_built_model(penalty, l1, l2, tmp_path):
    model = _model()
    assert model.losses == []
    paths = apply_weight_penalty(model, kernel_regularizer(penalty, l1=l1, l2=l2))
    assert len(paths) == 5 and not any("bias" in p or "gamma" in p or "beta" in p for p in paths)
    total = float(sum(np.asarray(loss) for loss in model.losses))
    np.testing.assert_allclose(total, _numpy_penalty(_kernels(model), l1, l2), rtol=1e-5)
    model.save(tmp_path / "m.keras")   # the penalty is part of the saved config
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(float(sum(np.asarray(v) for v in loaded.losses)), total, rtol=1e-5)


def test_training_step_loss_is_data_loss_plus_penalty():
    l2 = 0.05
    model = _model()
    apply_weight_penalty(model, kernel_regularizer("l2", l2=l2))
    for layer in model.layers:          # DropConnect off: deterministic forward for the check
        if isinstance(layer, DropConnectDense):
            layer.rate = 0.0
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 6, 6, 2)).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32")
    kernels = _kernels(model)
    pred = np.asarray(model(x, training=True))          # BN uses batch statistics, as in fit
    expected = np.mean((pred - y) ** 2) + _numpy_penalty(kernels, 0.0, l2)
    loss = model.train_on_batch(x, y)
    np.testing.assert_allclose(loss, expected, rtol=1e-4)
    assert expected - np.mean((pred - y) ** 2) > 1e-3   # the penalty is not negligible here


def test_builder_from_recipe_section():
    assert build_kernel_regularizer(RegularizationSpec()) is None
    reg = build_kernel_regularizer(RegularizationSpec(penalty="elastic_net", l1=1e-3, l2=2e-3))
    assert isinstance(reg, keras.regularizers.L1L2)
    w = np.array([[1.0, -2.0]], "float32")
    np.testing.assert_allclose(float(reg(w)), 2e-3 * 5.0 + 1e-3 * 3.0, rtol=1e-6)


def test_removing_penalty():
    model = _model(kernel_regularizer("l2", l2=1e-3))
    apply_weight_penalty(model, None)
    assert model.losses == []


@pytest.mark.parametrize("kwargs,name", [({"penalty": "l2", "l2": -1e-4}, "l2"),
                                         ({"penalty": "l1", "l1": -1.0}, "l1"),
                                         ({"penalty": "l3"}, "penalty")])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        kernel_regularizer(**kwargs)


def test_apply_rejects_non_regularizer():
    with pytest.raises(ValueError, match="regularizer"):
        apply_weight_penalty(_model(), 0.01)
