import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.augment import RandAugment, make_rand_augment
from tests.layer_testing import assert_invalid_argument, run_layer_test


@pytest.mark.parametrize("implementation, shape", [
    ("keras_cv", (4, 28, 28, 1)), ("keras_cv", (4, 32, 32, 3)), ("keras", (4, 28, 28, 1))])
def test_layer_contract_rgb_and_grayscale(implementation, shape):
    run_layer_test(RandAugment, {"num_ops": 2, "magnitude": 0.5, "implementation": implementation, "seed": 0},
                   input_shape=shape, identity_at_inference=True, check_training_differs=True)


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)])
def test_make_rand_augment_in_parallel_tf_data_map(shape):
    x = np.random.default_rng(0).uniform(size=(16,) + shape).astype("float32")
    layer = make_rand_augment(2, 0.6, implementation="keras_cv")
    assert layer.implementation == "keras_cv"
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(16))).batch(8)
    ds = ds.map(lambda a, b: (layer(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
    out = np.concatenate([a for a, _ in ds.as_numpy_iterator()])
    assert out.shape == x.shape and np.isfinite(out).all()
    assert out.min() >= -1e-4 and out.max() <= 1.0 + 1e-4  # stays in value_range
    changed = np.mean(np.any(np.abs(out - x) > 1e-4, axis=(1, 2, 3)))
    assert changed > 0.5  # most images were augmented


def test_bad_arguments():
    assert_invalid_argument(RandAugment, {"num_ops": 0}, "num_ops")
    assert_invalid_argument(RandAugment, {"magnitude": 1.5}, "magnitude")
    assert_invalid_argument(RandAugment, {"implementation": "torch"}, "implementation")
    assert_invalid_argument(RandAugment, {"value_range": (1, 0)}, "value_range")
