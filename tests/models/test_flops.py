"""FLOP counts from layer shapes, checked by hand and against TensorFlow's profiler."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.models.flops import forward_flops, layer_flops, training_flops_per_example
from deeprob_keras.models.small_resnet import small_resnet
from deeprob_keras.recipe.schema import ModelSpec


def _profiler_flops(model, input_shape):
    fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(
        tf.TensorSpec((1,) + tuple(input_shape), tf.float32))
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph=fn.graph, options=options).total_float_ops


def _one_layer(layer, input_shape):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, layer(inputs))


@pytest.mark.parametrize("kernel,strides,bias", [(3, 1, False), (3, 2, False), (1, 2, False), (3, 1, True), (5, 2, True)])
def test_conv_matches_the_formula_and_the_profiler(kernel, strides, bias):
    model = _one_layer(keras.layers.Conv2D(32, kernel, strides=strides, padding="same", use_bias=bias), (28, 28, 16))
    out_side = 28 // strides
    expected = 2 * out_side * out_side * kernel * kernel * 16 * 32 + (out_side * out_side * 32 if bias else 0)
    assert forward_flops(model) == expected
    assert forward_flops(model) == _profiler_flops(model, (28, 28, 16))


def test_dense_matches_the_formula_and_the_profiler():
    model = _one_layer(keras.layers.Dense(10), (64,))
    assert forward_flops(model) == 2 * 64 * 10 + 10 == _profiler_flops(model, (64,))


def test_default_resnet_total_and_training_cost():
    model = small_resnet((28, 28, 1), 10, ModelSpec())
    by_hand = 2 * (
        28 * 28 * 9 * 1 * 16            # stem
        + 2 * 28 * 28 * 9 * 16 * 16     # stage 0, two convs
        + 14 * 14 * 9 * 16 * 32 + 14 * 14 * 9 * 32 * 32 + 14 * 14 * 16 * 32  # stage 1 + 1x1 projection
        + 7 * 7 * 9 * 32 * 64 + 7 * 7 * 9 * 64 * 64 + 7 * 7 * 32 * 64        # stage 2 + 1x1 projection
        + 64 * 10) + 10                 # classifier (+ bias)
    assert forward_flops(model) == by_hand
    assert training_flops_per_example(model) == 3 * by_hand
    # The profiler also counts a few non-conv ops; conv + dense are over 99 % of its total.
    profiled = _profiler_flops(model, (28, 28, 1))
    assert 0.99 * profiled <= forward_flops(model) <= profiled
    assert {e.kind for e in layer_flops(model)} == {"conv", "dense"}


def test_rejects_non_models():
    with pytest.raises(ValueError, match="model"):
        layer_flops("not a model")
