import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.layers import FractionalMaxPooling2D, mc_average_predictions
from deeprob_keras.layers.fractional_max_pooling_2d import (
    fixed_pooling_sequence, fractional_max_pool, sample_pooling_sequence)
from tests.layer_testing import assert_invalid_argument, run_layer_test


def _numpy_pool(x, rows, cols, overlapping):
    """y[n,i,j,c] = max of x over region i x j (the lecture's definition)."""
    extra = 1 if overlapping else 0
    out = np.empty((x.shape[0], len(rows) - 1, len(cols) - 1, x.shape[3]), x.dtype)
    for i in range(len(rows) - 1):
        for j in range(len(cols) - 1):
            region = x[:, rows[i]:rows[i + 1] + extra, cols[j]:cols[j + 1] + extra, :]
            out[:, i, j, :] = region.max(axis=(1, 2))
    return out


def test_layer_contract():
    run_layer_test(FractionalMaxPooling2D, {"pooling_ratio": 1.5, "seed": 1, "overlapping": True},
                   input_shape=(2, 9, 9, 3), expected_output_shape=(2, 6, 6, 3))


@pytest.mark.parametrize("size,ratio", [((28, 28), math.sqrt(2)), ((11, 13), 1.25), ((9, 8), 2.0)])
def test_output_shape_is_floor_of_input_over_ratio(size, ratio):
    x = np.zeros((1, *size, 2), "float32")
    layer = FractionalMaxPooling2D(pooling_ratio=ratio)
    expected = (1, math.floor(size[0] / ratio), math.floor(size[1] / ratio), 2)
    assert tuple(layer(x, training=True).shape) == expected
    assert tuple(layer(x, training=False).shape) == expected
    assert tuple(layer.compute_output_shape(x.shape)) == expected


@pytest.mark.parametrize("overlapping", [False, True])
def test_pooling_is_region_max(overlapping):
    x = np.random.default_rng(0).normal(size=(2, 11, 13, 3)).astype("float32")
    rows, cols = [0, 2, 3, 5, 7, 9, 10, 11], [0, 1, 3, 4, 6, 7, 9, 10, 12, 13]
    got = np.asarray(fractional_max_pool(x, rows, cols, overlapping))
    np.testing.assert_array_equal(got, _numpy_pool(x, rows, cols, overlapping))


@pytest.mark.parametrize("pseudo_random", [False, True])
@pytest.mark.parametrize("overlapping", [False, True])
def test_pooling_matches_tf_op_given_its_sequences(pseudo_random, overlapping):
    x = np.random.default_rng(1).normal(size=(2, 10, 12, 2)).astype("float32")
    y, rows, cols = tf.nn.fractional_max_pool(x, [1.0, 1.4, 1.3, 1.0], pseudo_random=pseudo_random,
                                              overlapping=overlapping, seed=3)
    np.testing.assert_array_equal(np.asarray(fractional_max_pool(x, rows, cols, overlapping)), y)


@pytest.mark.parametrize("overlapping", [False, True])
def test_gradient_matches_tf_op(overlapping):
    x = tf.constant(np.random.default_rng(6).normal(size=(2, 10, 12, 2)).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y, rows, cols = tf.nn.fractional_max_pool(x, [1.0, 1.4, 1.3, 1.0], overlapping=overlapping, seed=4)
        ours = fractional_max_pool(x, rows, cols, overlapping)
        weights = tf.random.stateless_normal(y.shape, seed=[1, 2])
        ref_obj, our_obj = tf.reduce_sum(weights * y), tf.reduce_sum(weights * ours)
    np.testing.assert_allclose(tape.gradient(our_obj, x), tape.gradient(ref_obj, x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("pseudo_random", [False, True])
def test_sampled_sequences_are_valid_and_vary(pseudo_random):
    seed = keras.random.SeedGenerator(0)
    seen = set()
    for n_in, n_out in [(28, 19), (11, 7), (9, 5)]:
        for _ in range(30):
            s = np.asarray(sample_pooling_sequence(n_in, n_out, pseudo_random, seed))
            assert s[0] == 0 and s[-1] == n_in and len(s) == n_out + 1
            assert set(np.diff(s)) <= {n_in // n_out, n_in // n_out + 1}
            seen.add(tuple(s))
    assert len(seen) > 3


def test_training_outputs_are_region_maxima_of_the_input():
    x = np.random.default_rng(2).normal(size=(2, 10, 10, 3)).astype("float32")
    layer = FractionalMaxPooling2D(pooling_ratio=1.6, seed=4)
    outs = [np.asarray(layer(x, training=True)) for _ in range(5)]
    for y in outs:
        for n in range(2):
            for c in range(3):
                assert set(y[n, :, :, c].ravel()) <= set(x[n, :, :, c].ravel())
        # region (0, 0) always contains input cell (0, 0)
        assert np.all(y[:, 0, 0, :] >= x[:, 0, 0, :])
        assert np.allclose(y.max(axis=(1, 2)), x.max(axis=(1, 2)))  # regions cover the input
    assert any(not np.array_equal(outs[0], y) for y in outs[1:])  # regions change per call


def test_fixed_inference_uses_documented_even_boundaries():
    x = np.random.default_rng(3).normal(size=(1, 11, 11, 1)).astype("float32")
    layer = FractionalMaxPooling2D(pooling_ratio=1.5)
    rows = [math.ceil(i * 11 / 7) for i in range(8)]
    np.testing.assert_array_equal(np.asarray(fixed_pooling_sequence(11, 7)), rows)
    np.testing.assert_array_equal(layer(x, training=False), _numpy_pool(x, rows, rows, False))


def test_mc_average_randomizes_only_stochastic_layers():
    x = np.random.default_rng(4).uniform(1.0, 2.0, size=(3, 8, 8, 1)).astype("float32")
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.BatchNormalization(epsilon=0.0)(inputs)   # fresh BN: identity at inference
    h = keras.layers.Dropout(0.9)(h)                           # x10 or 0 if it were active
    outputs = FractionalMaxPooling2D(pooling_ratio=1.5, seed=0)(h)
    model = keras.Model(inputs, outputs)
    fixed = np.asarray(model(x, training=False))
    one = mc_average_predictions(model, x, num_samples=1)
    assert set(np.round(one.ravel(), 5)) <= set(np.round(x.ravel(), 5))  # no BN/Dropout change
    avg = mc_average_predictions(model, x, num_samples=20, batch_size=2)
    assert avg.shape == fixed.shape and not np.allclose(avg, fixed)     # regions were random
    assert x.min() <= avg.min() and avg.max() <= x.max()
    np.testing.assert_array_equal(np.asarray(model(x, training=False)), fixed)  # attribute restored


def test_random_inference_mode():
    x = np.random.default_rng(5).normal(size=(2, 9, 9, 1)).astype("float32")
    layer = FractionalMaxPooling2D(pooling_ratio=1.5, inference_mode="random", seed=1)
    outs = [np.asarray(layer(x, training=False)) for _ in range(6)]
    assert any(not np.array_equal(outs[0], y) for y in outs[1:])
    layer.stochastic_inference = False
    np.testing.assert_array_equal(layer(x), layer(x))


@pytest.mark.parametrize("ratio", [1.0, 0.5, 2.5, "1.4"])
def test_bad_pooling_ratio(ratio):
    assert_invalid_argument(FractionalMaxPooling2D, {"pooling_ratio": ratio}, "pooling_ratio")


def test_bad_arguments():
    assert_invalid_argument(FractionalMaxPooling2D, {"inference_mode": "mean"}, "inference_mode")
    assert_invalid_argument(FractionalMaxPooling2D, {"overlapping": 1}, "overlapping")
    assert_invalid_argument(FractionalMaxPooling2D, {"seed": 0.5}, "seed")
    with pytest.raises(ValueError, match="num_samples"):
        mc_average_predictions(keras.Sequential([keras.layers.Identity()]), np.ones((1, 2)), num_samples=0)
