import keras
import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.training.batchnorm_recalibration import recalibrate_batchnorm


def test_moving_statistics_become_the_average_of_batch_statistics():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    outputs = keras.layers.BatchNormalization(momentum=0.99, name="bn")(hidden)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(5 * 32, 6)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, np.zeros(len(x)))).batch(32)
    kernel_before = model.get_layer("dense").kernel.numpy().copy()

    assert recalibrate_batchnorm(model, ds, num_batches=5) == 1

    h = x @ kernel_before + model.get_layer("dense").bias.numpy()
    batches = h.reshape(5, 32, 4)
    expected_mean = batches.mean(axis=1).mean(axis=0)
    expected_var = batches.var(axis=1).mean(axis=0)  # Keras stores the biased batch variance
    bn = model.get_layer("bn")
    np.testing.assert_allclose(bn.moving_mean.numpy(), expected_mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(bn.moving_variance.numpy(), expected_var, rtol=1e-3, atol=1e-3)
    np.testing.assert_array_equal(model.get_layer("dense").kernel.numpy(), kernel_before)
    assert bn.momentum == 0.99


def test_frozen_batchnorm_is_recalibrated_and_stays_frozen():
    inputs = keras.Input((3,))
    bn = keras.layers.BatchNormalization()
    model = keras.Model(inputs, bn(inputs))
    bn.trainable = False
    x = np.full((8, 3), 5.0, "float32")
    recalibrate_batchnorm(model, tf.data.Dataset.from_tensor_slices(x).batch(4), num_batches=2)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 5.0, atol=1e-5)
    assert bn.trainable is False


def test_bad_num_batches():
    with pytest.raises(ValueError, match="num_batches"):
        recalibrate_batchnorm(keras.Sequential([keras.Input((2,))]), None, num_batches=0)
