import keras
import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.layers import DropConnectDense, drop_connect
from tests.layer_testing import assert_invalid_argument, run_layer_test


def test_layer_contract():
    run_layer_test(DropConnectDense, {"units": 4, "rate": 0.5, "seed": 1, "activation": "relu"},
                   input_shape=(3, 8), expected_output_shape=(3, 4), check_training_differs=True)


def test_inference_uses_all_connections():
    layer = DropConnectDense(5, rate=0.7, seed=0)
    x = np.random.default_rng(0).normal(size=(6, 3)).astype("float32")
    out = np.asarray(layer(x, training=False))
    w, b = (np.asarray(v) for v in layer.weights)
    np.testing.assert_allclose(out, x @ w + b, rtol=1e-5, atol=1e-6)


def test_fraction_of_dropped_weights_and_scaling():
    rate, n = 0.3, 200 * 200
    w = np.asarray(drop_connect(keras.ops.ones((200, 200)), rate, seed=3))
    dropped = np.mean(w == 0)
    # Binomial standard error sqrt(p(1-p)/n) ~ 0.0023; allow 5 of them.
    assert abs(dropped - rate) < 5 * np.sqrt(rate * (1 - rate) / n)
    np.testing.assert_allclose(w[w != 0], 1.0 / (1.0 - rate), rtol=1e-6)


def test_monte_carlo_mean_equals_inference_output():
    rate, draws = 0.5, 1500
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 6)).astype("float32")
    layer = DropConnectDense(3, rate=rate, seed=7, bias_initializer="ones")
    expected = np.asarray(layer(x, training=False))
    w = np.asarray(layer.kernel)
    step = tf.function(lambda: layer(x, training=True))
    mean = np.mean([np.asarray(step()) for _ in range(draws)], axis=0)
    # Var of one draw of y_j: rate/(1-rate) * sum_i x_i^2 W_ij^2; tolerance 5 SE.
    var = rate / (1 - rate) * (x ** 2) @ (w ** 2)
    tol = 5 * np.sqrt(var / draws)
    assert np.all(np.abs(mean - expected) < tol), (mean, expected, tol)


def test_mask_is_per_batch_and_training_changes_output():
    layer = DropConnectDense(16, rate=0.5, seed=2, use_bias=False)
    x = np.ones((2, 16), "float32")  # identical samples see the same mask
    out = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(out[0], out[1])


def test_rate_zero_is_plain_dense():
    layer = DropConnectDense(4, rate=0.0)
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(layer(x, training=True), layer(x, training=False))


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5, "0.5"])
def test_bad_rate(rate):
    assert_invalid_argument(DropConnectDense, {"units": 3, "rate": rate}, "rate")
    with pytest.raises(ValueError, match="rate"):
        drop_connect(keras.ops.ones((2, 2)), rate)


def test_bad_seed():
    assert_invalid_argument(DropConnectDense, {"units": 3, "seed": 1.5}, "seed")
