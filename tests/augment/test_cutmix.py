import numpy as np
import pytest
import keras
import tensorflow as tf

from deeprob_keras.augment import CutMix, cutmix
from deeprob_keras.augment.cutmix import sample_cutmix_box


def _constant_batch(b=8, h=10, w=12, k=8):
    # image i is filled with the value i + 1, so pasted pixels can be counted.
    x = np.broadcast_to((np.arange(b) + 1.0)[:, None, None, None], (b, h, w, 3)).astype("float32")
    y = np.eye(k, dtype="float32")[np.arange(b) % k]
    return x, y


def _check_labels_match_pasted_pixels(x, y, xm, ym):
    xm, ym = np.asarray(xm), np.asarray(ym)
    b, h, w, _ = x.shape
    for i in range(b):
        pasted = np.mean(xm[i, :, :, 0] != x[i, 0, 0, 0])
        assert ym[i, i % y.shape[1]] == pytest.approx(1.0 - pasted, abs=1e-6)
        np.testing.assert_allclose(ym[i].sum(), 1.0, rtol=1e-6)


def test_cutmix_fixed_box_pastes_partner_pixels():
    x, y = _constant_batch()
    perm = np.roll(np.arange(8), 1).astype("int32")
    box = np.array([[2, 3, 6, 9]] * 8, dtype="int32")  # 4 x 6 = 24 of 120 pixels
    xm, ym = cutmix(x, y, box, perm)
    xm, ym = np.asarray(xm), np.asarray(ym)
    expected = x.copy()
    expected[:, 2:6, 3:9, :] = x[perm][:, 2:6, 3:9, :]
    np.testing.assert_array_equal(xm, expected)
    np.testing.assert_allclose(ym, 0.8 * y + 0.2 * y[perm], rtol=1e-6)


def test_sampled_box_area_and_border_clipping():
    lam = np.full((4000,), 0.64, dtype="float32")  # side ratio sqrt(0.36) = 0.6
    box = np.asarray(sample_cutmix_box(lam, 20, 30, keras.random.SeedGenerator(0)))
    y0, x0, y1, x1 = box.T
    assert (y0 >= 0).all() and (y1 <= 20).all() and (x0 >= 0).all() and (x1 <= 30).all()
    interior = (y0 > 0) & (y1 < 20) & (x0 > 0) & (x1 < 30)
    assert interior.any() and (~interior).any()
    area = (y1 - y0) * (x1 - x0) / 600.0
    np.testing.assert_allclose(area[interior], 0.36, atol=0.06)  # rounding to pixels
    assert area[~interior].mean() < 0.3  # clipping removes pixels at the border


def test_label_weight_equals_pasted_fraction_after_clipping():
    x, y = _constant_batch(b=8)
    aug = CutMix(alpha=1.0, seed=5)
    for _ in range(5):
        xm, ym = aug(x, y)
        _check_labels_match_pasted_pixels(x, y, xm, ym)


def test_tf_data_map_and_tf_function():
    x, y = _constant_batch(b=8)
    aug = CutMix(alpha=1.0, seed=6)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8).map(aug)
    for xm, ym in ds:
        _check_labels_match_pasted_pixels(x, y, xm, ym)
    xm, ym = tf.function(aug)(tf.constant(x), tf.constant(y))
    _check_labels_match_pasted_pixels(x, y, xm, ym)


def test_config_round_trip_and_bad_alpha():
    aug = CutMix(alpha=0.5, seed=1)
    rebuilt = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(aug))
    assert isinstance(rebuilt, CutMix) and rebuilt.get_config() == aug.get_config()
    with pytest.raises(ValueError, match="alpha"):
        CutMix(alpha=0)
