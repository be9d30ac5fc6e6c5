import os

import numpy as np
import pytest
import keras
import tensorflow as tf

from deeprob_keras.augment import TestTimeAugmentation


def _model(size=12, channels=3, k=4, logits=False):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, channels))
    h = keras.layers.Conv2D(6, 3, activation="relu")(inputs)
    h = keras.layers.Flatten()(h)  # position-dependent: flips / crops change the output
    out = keras.layers.Dense(k, activation=None if logits else "softmax")(h)
    return keras.Model(inputs, out)


def _images(b=3, size=12, channels=3):
    return np.random.default_rng(0).uniform(size=(b, size, size, channels)).astype("float32")


def _np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _predict(model, x):
    return np.asarray(model(x, training=False))


def test_flip_mean_of_two_views():
    model, x = _model(), _images()
    expected = (_predict(model, x) + _predict(model, x[:, :, ::-1, :].copy())) / 2
    out = np.asarray(TestTimeAugmentation(model, "flip")(x))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(out, _predict(model, x))


def test_ten_crop_views_built_by_hand():
    model, x = _model(), _images()
    c = 8
    preds = []
    for y0, x0 in [(0, 0), (0, 4), (4, 0), (4, 4), (2, 2)]:
        crop = np.asarray(keras.ops.image.resize(x[:, y0:y0 + c, x0:x0 + c, :], (12, 12)))
        preds += [_predict(model, crop), _predict(model, crop[:, :, ::-1, :].copy())]
    out = np.asarray(TestTimeAugmentation(model, "ten_crop", crop_size=c)(x))
    np.testing.assert_allclose(out, np.mean(preds, axis=0), rtol=1e-5, atol=1e-6)


def test_scales_with_logits():
    model, x = _model(logits=True), _images()
    preds = [_np_softmax(_predict(model, np.asarray(keras.ops.image.resize(keras.ops.image.resize(x, (s, s)), (12, 12)))))
             for s in (10, 16)]
    out = np.asarray(TestTimeAugmentation(model, "scales", scales=[10, 16], from_logits=True)(x))
    np.testing.assert_allclose(out, np.mean(preds, axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_keras_save_load_and_saved_model_export(tmp_path):
    x = _images()
    tta = TestTimeAugmentation(_model(), "ten_crop", crop_size=8)
    expected = np.asarray(tta(x))
    path = os.path.join(tmp_path, "tta.keras")
    tta.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, TestTimeAugmentation) and loaded.crop_size == 8
    np.testing.assert_allclose(np.asarray(loaded(x)), expected, rtol=1e-6, atol=1e-6)

    module = tf.Module()
    module.tta = tta
    module.serve = tf.function(lambda images: {"probabilities": module.tta(images)},
                               input_signature=[tf.TensorSpec((None, 12, 12, 3), tf.float32)])
    export_dir = os.path.join(tmp_path, "export", "1")
    tf.saved_model.save(module, export_dir, signatures={"serving_default": module.serve})
    served = tf.saved_model.load(export_dir).signatures["serving_default"](tf.constant(x))
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs, name", [
    ({"mode": "rotate"}, "mode"),
    ({"mode": "ten_crop"}, "crop_size"),
    ({"mode": "scales", "scales": []}, "scales"),
    ({"mode": "flip", "from_logits": 1}, "from_logits"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TestTimeAugmentation(_model(), **kwargs)
    with pytest.raises(ValueError, match="model"):
        TestTimeAugmentation("not a model")


def _shift_by_hand(x, d):
    """x shifted by (d, d) pixels with zeros: out[i, j] = x[i - d, j - d]."""
    out = np.zeros_like(x)
    h, w = x.shape[1:3]
    if d >= 0:
        out[:, d:, d:] = x[:, :h - d, :w - d]
    else:
        out[:, :h + d, :w + d] = x[:, -d:, -d:]
    return out


def test_flip_translate_is_the_mean_over_six_views_built_by_hand():
    model, x = _model(), _images()
    views = []
    for base in (x, x[:, :, ::-1, :].copy()):
        views += [base, _shift_by_hand(base, 2), _shift_by_hand(base, -2)]
    expected = np.mean([_predict(model, v) for v in views], axis=0)
    out = np.asarray(TestTimeAugmentation(model, "flip_translate", translate=2)(x))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    flip_only = np.asarray(TestTimeAugmentation(model, "flip")(x))
    assert not np.allclose(out, flip_only)


def _shift2_by_hand(x, dy, dx):
    """x shifted by dy rows and dx columns with zeros: out[i, j] = x[i - dy, j - dx]."""
    out = np.zeros_like(x)
    h, w = x.shape[1:3]
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                out[:, i, j] = x[:, i - dy, j - dx]
    return out


def test_flip_cross_is_the_mean_over_ten_views_built_by_hand():
    model, x = _model(), _images()
    views = [_shift2_by_hand(base, dy, dx) for base in (x, x[:, :, ::-1, :].copy())
             for dy, dx in ((0, 0), (2, 0), (-2, 0), (0, 2), (0, -2))]
    expected = np.mean([_predict(model, v) for v in views], axis=0)
    out = np.asarray(TestTimeAugmentation(model, "flip_cross", translate=2)(x))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    diagonal = np.asarray(TestTimeAugmentation(model, "flip_translate", translate=2)(x))
    assert not np.allclose(out, diagonal)


def test_flip_cross_refuses_a_shift_as_large_as_the_image():
    with pytest.raises(ValueError, match="translate"):
        TestTimeAugmentation(_model(), "flip_cross", translate=64)(_images())


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_flip_translate_bad_translate(bad):
    with pytest.raises(ValueError, match="translate"):
        TestTimeAugmentation(_model(), "flip_translate", translate=bad)


def test_flip_translate_round_trips_through_keras_file(tmp_path):
    model, x = _model(), _images()
    tta = TestTimeAugmentation(model, "flip_translate", translate=1)
    path = str(tmp_path / "tta.keras")
    tta.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.translate == 1 and loaded.mode == "flip_translate"
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(tta(x)), rtol=1e-5, atol=1e-6)
