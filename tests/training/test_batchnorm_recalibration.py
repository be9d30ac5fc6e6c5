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


def test_only_batchnorm_runs_in_training_mode():
    # Dropout(0.9) before BN: with dropout active the batch statistics would be those of
    # the noisy network (mean unchanged in expectation, variance ~10x larger).
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    dropped = keras.layers.Dropout(0.9, name="dropout")(inputs)
    outputs = keras.layers.BatchNormalization(momentum=0.99, name="bn")(dropped)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(1).normal(3.0, 1.0, size=(4 * 64, 4)).astype("float32")
    recalibrate_batchnorm(model, tf.data.Dataset.from_tensor_slices(x).batch(64), num_batches=4)

    batches = x.reshape(4, 64, 4)   # dropout-free activations
    bn = model.get_layer("bn")
    np.testing.assert_allclose(bn.moving_mean.numpy(), batches.mean(axis=1).mean(axis=0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(bn.moving_variance.numpy(), batches.var(axis=1).mean(axis=0), rtol=1e-3, atol=1e-3)
    assert bn.trainable is True and "call" not in vars(bn)   # nothing patched is left behind


def test_nested_batchnorm_and_stochastic_layers():
    # A BN inside a nested model, after DropConnect-like noise: still only BN in training mode.
    keras.utils.set_random_seed(0)
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, keras.layers.BatchNormalization(name="bn")(keras.layers.Dropout(0.5)(inner_in)))
    inputs = keras.Input((4,))
    model = keras.Model(inputs, inner(keras.layers.Dropout(0.5)(inputs)))
    x = np.random.default_rng(2).normal(-1.0, 2.0, size=(128, 4)).astype("float32")
    recalibrate_batchnorm(model, tf.data.Dataset.from_tensor_slices(x).batch(128), num_batches=1)
    bn = inner.get_layer("bn")
    np.testing.assert_allclose(bn.moving_mean.numpy(), x.mean(axis=0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(bn.moving_variance.numpy(), x.var(axis=0), rtol=1e-3, atol=1e-3)
