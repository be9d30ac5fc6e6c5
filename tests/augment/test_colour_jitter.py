"""Colour jitter of the recipe (augmentation.brightness / contrast) checked on values, per image.

Formulas (images in [0, 1], no clipping for the inputs used here):
brightness: x' = x + b, one b ~ U(-B, B) per image (all pixels and channels);
contrast:   x' = (x - m) f + m, m the per-image per-channel mean over H, W,
            one f ~ U(1 - C, 1 + C) per image.
"""

import numpy as np

from deeprob_keras.augment import build_augmentation
from deeprob_keras.recipe.schema import AugmentationSpec

N = 96


def _images(channels=3, lo=0.4, hi=0.6):
    # Narrow values around 0.5 so that neither jitter reaches the clip at 0 or 1.
    return np.random.default_rng(2).uniform(lo, hi, size=(N, 10, 10, channels)).astype("float32")


def _contrast_factors(x, out):
    """Per image: least-squares f of (out - m_out) = f (x - m_x), and the worst residual."""
    xc = x - x.mean(axis=(1, 2), keepdims=True)
    oc = out - out.mean(axis=(1, 2), keepdims=True)
    f = (xc * oc).reshape(N, -1).sum(1) / (xc * xc).reshape(N, -1).sum(1)
    residual = np.abs(oc - f[:, None, None, None] * xc).max()
    return f, residual


def _assert_spread(values, lo, hi):
    """Inside [lo, hi], and different images drew different values covering most of the range."""
    assert values.min() >= lo - 1e-5 and values.max() <= hi + 1e-5, (values.min(), values.max())
    width = hi - lo
    assert values.max() - values.min() > 0.7 * width
    assert len(np.unique(np.round(values, 5))) > 0.9 * len(values)
    # Uniform on [lo, hi]: std = width / sqrt(12) (loose: 96 draws).
    assert abs(values.std() - width / np.sqrt(12)) < 0.25 * width / np.sqrt(12)


def test_contrast_factor_per_image_within_its_range():
    c = 0.3
    image_fn, _ = build_augmentation(AugmentationSpec(contrast=c), num_classes=10, seed=0)
    x = _images()
    out = np.asarray(image_fn(x, training=True))
    # Each channel keeps its mean; the deviations from it are scaled by one factor per image.
    np.testing.assert_allclose(out.mean(axis=(1, 2)), x.mean(axis=(1, 2)), atol=1e-5)
    f, residual = _contrast_factors(x, out)
    assert residual < 1e-5
    _assert_spread(f, 1 - c, 1 + c)
    np.testing.assert_array_equal(np.asarray(image_fn(x, training=False)), x)


def test_brightness_and_contrast_together_each_within_its_range():
    b, c = 0.1, 0.25
    image_fn, _ = build_augmentation(AugmentationSpec(brightness=b, contrast=c), num_classes=10, seed=3)
    x = _images(lo=0.45, hi=0.55)
    out = np.asarray(image_fn(x, training=True))
    # Brightness first, then contrast around the shifted mean: the mean moves by b exactly,
    # the same for every channel of an image.
    shift = out.mean(axis=(1, 2)) - x.mean(axis=(1, 2))  # (N, channels)
    np.testing.assert_allclose(shift, np.broadcast_to(shift[:, :1], shift.shape), atol=1e-5)
    _assert_spread(shift[:, 0], -b, b)
    f, residual = _contrast_factors(x, out)
    assert residual < 1e-5
    _assert_spread(f, 1 - c, 1 + c)
    # The two draws of an image are independent.
    assert abs(np.corrcoef(shift[:, 0], f)[0, 1]) < 0.35


def test_grayscale_contrast_per_image():
    c = 0.5
    image_fn, _ = build_augmentation(AugmentationSpec(contrast=c), num_classes=10, seed=1)
    x = _images(channels=1, lo=0.45, hi=0.55)
    f, residual = _contrast_factors(x, np.asarray(image_fn(x, training=True)))
    assert residual < 1e-5
    _assert_spread(f, 1 - c, 1 + c)
