import numpy as np
import pytest
import keras

from deeprob_keras.augment import RandomErasing
from deeprob_keras.augment.random_erasing import erase, sample_erasing_boxes
from tests.layer_testing import assert_invalid_argument, run_layer_test


def _images(b=64, h=16, w=20, c=3, seed=0):
    # strictly inside (0.25, 0.75): zero / noise fills are distinguishable per pixel
    return np.random.default_rng(seed).uniform(0.25, 0.75, size=(b, h, w, c)).astype("float32")


def test_layer_contract():
    run_layer_test(RandomErasing, {"probability": 0.8, "fill": "random", "seed": 1},
                   input_shape=(4, 12, 12, 3), identity_at_inference=True, check_training_differs=True)


def test_erase_with_fixed_box():
    x = _images(b=2)
    box = np.array([[1, 2, 5, 9], [0, 0, 16, 20]], dtype="int32")
    out = np.asarray(erase(x, box, np.array([True, False]), np.zeros((2, 1, 1, 3), "float32")))
    expected = x.copy()
    expected[0, 1:5, 2:9, :] = 0.0
    np.testing.assert_array_equal(out, expected)


def test_sampled_boxes_follow_area_and_aspect():
    box = np.asarray(sample_erasing_boxes((5000, 64, 64, 3), (0.1, 0.3), (0.5, 2.0),
                                          keras.random.SeedGenerator(0)))
    y0, x0, y1, x1 = box.T
    assert (y0 >= 0).all() and (x0 >= 0).all() and (y1 <= 64).all() and (x1 <= 64).all()
    area = (y1 - y0) * (x1 - x0) / 64.0 ** 2
    assert 0.08 < area.min() and area.max() < 0.33  # U(0.1, 0.3), pixel rounding
    assert abs(area.mean() - 0.2) < 0.01
    ratio = (y1 - y0) / (x1 - x0)
    assert 0.4 < ratio.min() and ratio.max() < 2.5
    assert abs(np.mean(np.log(ratio))) < 0.03  # log-uniform aspect, symmetric about 1


@pytest.mark.parametrize("fill", ["zero", "mean", "random"])
def test_fill_values_and_erased_fraction(fill):
    x = _images(b=400)
    layer = RandomErasing(probability=0.5, area=(0.1, 0.3), fill=fill, seed=2)
    out = np.asarray(layer(x, training=True))
    changed = np.any(out != x, axis=-1)  # (B, H, W)
    erased_images = changed.any(axis=(1, 2))
    assert abs(erased_images.mean() - 0.5) < 0.08  # probability of erasing
    frac = changed[erased_images].mean(axis=(1, 2))
    assert 0.08 < frac.min() and frac.max() < 0.33 and abs(frac.mean() - 0.2) < 0.02
    for i in np.flatnonzero(erased_images)[:20]:
        region = out[i][changed[i]]  # (n, C)
        rows, cols = np.nonzero(changed[i])  # erased region is a rectangle
        assert changed[i][rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()
        if fill == "zero":
            np.testing.assert_array_equal(region, 0.0)
        elif fill == "mean":
            np.testing.assert_allclose(region, np.broadcast_to(x[i].mean(axis=(0, 1)), region.shape), rtol=1e-5)
        else:
            assert region.min() >= 0.0 and region.max() <= 1.0 and region.std() > 0.1


@pytest.mark.parametrize("kwargs, name", [
    ({"probability": 1.5}, "probability"),
    ({"area": (0.5, 0.2)}, "area"),
    ({"area": (0.0, 0.2)}, "area"),
    ({"aspect": (-1.0, 2.0)}, "aspect"),
    ({"fill": "blue"}, "fill"),
    ({"value_range": (1.0, 0.0)}, "value_range"),
])
def test_bad_arguments(kwargs, name):
    assert_invalid_argument(RandomErasing, kwargs, name)
