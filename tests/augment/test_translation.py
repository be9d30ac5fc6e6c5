"""PixelTranslation: whole-pixel shifts with zero fill, one shift per image, identity at inference."""

import numpy as np
import pytest

from deeprob_keras.augment import PixelTranslation
from tests.layer_testing import run_layer_test


def _find_shift(src, out, t):
    """The (dy, dx) in [-t, t]^2 with out[i, j] = src[i - dy, j - dx] (0 outside), or None."""
    h, w = src.shape
    for dy in range(-t, t + 1):
        for dx in range(-t, t + 1):
            ref = np.zeros_like(src)
            ref[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
                src[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
            if np.array_equal(ref, out):
                return dy, dx
    return None


def test_every_image_is_a_whole_pixel_shift_with_zero_fill_and_shifts_cover_the_range():
    t, n = 2, 400
    src = np.random.default_rng(0).uniform(1.0, 2.0, size=(n, 10, 10, 1)).astype("float32")
    out = np.asarray(PixelTranslation(t, seed=3)(src, training=True))
    shifts = [_find_shift(src[i, :, :, 0], out[i, :, :, 0], t) for i in range(n)]
    assert all(s is not None for s in shifts), "an output is not a zero-filled integer shift of its input"
    dys = np.array([s[0] for s in shifts])
    dxs = np.array([s[1] for s in shifts])
    # round(U[-2, 2]): P(0) = P(+-1) = 1/4, P(+-2) = 1/8; every value occurs.
    for d in (dys, dxs):
        counts = np.array([(d == k).mean() for k in range(-t, t + 1)])
        np.testing.assert_allclose(counts, [0.125, 0.25, 0.25, 0.25, 0.125], atol=0.06)
    assert len(set(shifts)) > 10, "images of one batch must get their own shifts"


def test_identity_at_inference_and_round_trips():
    run_layer_test(PixelTranslation, {"max_pixels": 2, "seed": 1}, input_shape=(4, 8, 8, 3),
                   identity_at_inference=True, check_training_differs=True)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_max_pixels(bad):
    with pytest.raises(ValueError, match="max_pixels"):
        PixelTranslation(bad)


def test_shift_as_large_as_the_image_is_refused():
    with pytest.raises(ValueError, match="max_pixels"):
        PixelTranslation(8)(np.zeros((1, 8, 8, 1), "float32"), training=True)


@pytest.mark.parametrize("key", ["translate", "tta_translate"])
def test_recipe_refuses_a_shift_as_large_as_the_image(key):
    from deeprob_keras.recipe import RecipeError, recipe_from_dict

    with pytest.raises((RecipeError, ValueError), match=key):
        recipe_from_dict({"data": {"dataset": "fashion_mnist"}, "augmentation": {key: 28}})
