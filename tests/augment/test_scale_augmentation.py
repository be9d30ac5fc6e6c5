import numpy as np
import pytest
import keras

from deeprob_keras.augment import RandomScaleCrop
from deeprob_keras.augment.scale_augmentation import scale_crop
from tests.layer_testing import assert_invalid_argument, run_layer_test


def test_layer_contract():
    run_layer_test(RandomScaleCrop, {"scale_min": 12, "scale_max": 16, "crop_size": 12, "seed": 0},
                   input_shape=(3, 12, 12, 2), identity_at_inference=True, check_training_differs=True)
    run_layer_test(RandomScaleCrop, {"scale_min": 10, "scale_max": 14, "crop_size": 8},
                   input_shape=(2, 12, 16, 3), expected_output_shape=(2, 8, 8, 3))


@pytest.mark.parametrize("resized, offsets", [((20, 30), (3, 7)), ((8, 12), (1, 2)), ((12, 18), (2, 5))])
def test_scale_crop_equals_resize_then_crop(resized, offsets):
    x = np.random.default_rng(0).uniform(size=(1, 12, 18, 3)).astype("float32")
    ref = np.asarray(keras.ops.image.resize(x, resized, interpolation="bilinear", antialias=False))
    ref = ref[:, offsets[0]:offsets[0] + 6, offsets[1]:offsets[1] + 6, :]
    out = scale_crop(x, np.array([resized]), np.array([offsets]), 6)
    np.testing.assert_allclose(np.asarray(out), ref, atol=1e-5)


def test_training_scales_and_inference_centre_crop():
    # A horizontal ramp: the horizontal step between output pixels tells the scale.
    w = 20
    x = np.broadcast_to(np.arange(w, dtype="float32")[None, None, :, None], (256, w, w, 1)).copy()
    layer = RandomScaleCrop(20, 40, 16, seed=1)
    out = np.asarray(layer(x, training=True))[:, :, :, 0]
    step = out[:, 8, 9] - out[:, 8, 8]  # = w / L (interior pixels)
    lengths = np.round(w / step)
    assert lengths.min() >= 20 and lengths.max() <= 40
    assert len(np.unique(lengths)) > 10  # one L per image, not per batch
    centre = np.asarray(layer(x[:1], training=False))[0, :, :, 0]
    np.testing.assert_allclose(centre, x[0, 2:18, 2:18, 0], atol=1e-5)  # resize to 20: identity


def test_crop_larger_than_scale_min_is_rejected():
    assert_invalid_argument(RandomScaleCrop, {"scale_min": 24, "scale_max": 32, "crop_size": 28}, "crop_size")
    assert_invalid_argument(RandomScaleCrop, {"scale_min": 24, "scale_max": 20, "crop_size": 20}, "scale_max")
    assert_invalid_argument(RandomScaleCrop, {"scale_min": 0, "scale_max": 20, "crop_size": 1}, "scale_min")
    assert_invalid_argument(RandomScaleCrop, {"scale_min": 8, "scale_max": 20, "crop_size": 2.5}, "crop_size")
