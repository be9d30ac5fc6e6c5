import keras
import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.layers import StochasticDepth, drop_path, linear_decay_rates
from tests.layer_testing import assert_invalid_argument, run_layer_test


def test_layer_contract_on_branch():
    run_layer_test(StochasticDepth, {"rate": 0.5, "seed": 1}, input_shape=(8, 4, 4, 2),
                   identity_at_inference=True, check_training_differs=True)


def test_shortcut_branch_form_in_a_saved_model(tmp_path):
    inputs = keras.Input((6,))
    branch = keras.layers.Dense(6)(inputs)
    model = keras.Model(inputs, StochasticDepth(0.3, seed=2)([inputs, branch]))
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    w, b = model.layers[1].get_weights()
    np.testing.assert_allclose(model(x, training=False), x + x @ w + b, rtol=1e-5, atol=1e-5)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), rtol=1e-6)


def test_fraction_of_dropped_samples_and_per_sample_mask():
    rate, n = 0.3, 4000
    y = np.asarray(drop_path(tf.ones((n, 3, 2)), rate, training=True, seed=5))
    per_sample = y.reshape(n, -1)
    # each sample is dropped or kept as a whole
    assert np.all((per_sample == 0).all(axis=1) | np.isclose(per_sample, 1 / (1 - rate)).all(axis=1))
    dropped = np.mean(per_sample[:, 0] == 0)
    assert abs(dropped - rate) < 5 * np.sqrt(rate * (1 - rate) / n)


def test_monte_carlo_mean_equals_inference_output():
    rate, n = 0.25, 4000
    layer = StochasticDepth(rate, seed=3)
    shortcut = np.tile(np.array([[1.0, -2.0, 0.5]], "float32"), (n, 1))
    branch = np.tile(np.array([[3.0, 1.0, -4.0]], "float32"), (n, 1))
    train = np.asarray(layer([shortcut, branch], training=True))
    infer = np.asarray(layer([shortcut, branch], training=False))
    np.testing.assert_allclose(infer, shortcut + branch)
    # Huang et al.: test output s + p f(x) with an unscaled branch f; here f = (1-rate) * branch.
    p = 1 - rate
    np.testing.assert_allclose(infer[0], shortcut[0] + p * (branch[0] / p), rtol=1e-6)
    se = np.abs(branch[0]) * np.sqrt(rate / (1 - rate) / n)
    assert np.all(np.abs(train.mean(axis=0) - infer[0]) < 5 * se)


def test_inference_and_rate_zero_are_identity():
    x = np.random.default_rng(1).normal(size=(5, 3)).astype("float32")
    np.testing.assert_array_equal(drop_path(x, 0.5, training=False), x)
    np.testing.assert_array_equal(drop_path(x, 0.0, training=True), x)


def test_linear_decay_rates():
    np.testing.assert_allclose(linear_decay_rates(0.5, 4), [0.125, 0.25, 0.375, 0.5])
    np.testing.assert_allclose(linear_decay_rates(0.2, 1), [0.2])
    assert linear_decay_rates(0.0, 3) == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="num_blocks"):
        linear_decay_rates(0.5, 0)
    with pytest.raises(ValueError, match="max_rate"):
        linear_decay_rates(1.0, 3)


@pytest.mark.parametrize("rate", [1.0, -0.2, 2, None])
def test_bad_rate(rate):
    assert_invalid_argument(StochasticDepth, {"rate": rate}, "rate")
    with pytest.raises(ValueError, match="rate"):
        drop_path(np.ones((2, 2), "float32"), rate, training=True)


def test_wrong_number_of_inputs():
    with pytest.raises(ValueError, match="shortcut, branch"):
        StochasticDepth(0.1)([np.ones((1, 2)), np.ones((1, 2)), np.ones((1, 2))])
