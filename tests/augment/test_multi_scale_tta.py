"""TTA as the lecture does it: resize to each scale, average 10 crops at the input size (and flips)."""

import numpy as np
import pytest
import keras
import tensorflow as tf

from deeprob_keras.augment import TestTimeAugmentation
from deeprob_keras.augment.test_time_augmentation import tta_views
from deeprob_keras.recipe import Recipe, with_overrides


def _model(size=12, channels=2, k=5):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, channels))
    h = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(inputs))  # position-dependent
    return keras.Model(inputs, keras.layers.Dense(k, activation="softmax")(h))


def _images(b=3, h=12, w=12, channels=2):
    return np.random.default_rng(0).uniform(size=(b, h, w, channels)).astype("float32")


def _views_by_hand(x, scales):
    """Independent rebuild: tf.image.resize (bilinear) to s x s, NumPy slicing and flipping."""
    n = x.shape[1]
    views = []
    for s in scales:
        big = tf.image.resize(x, (s, s), method="bilinear").numpy()
        c = (s - n) // 2
        crops = [big[:, :n, :n], big[:, :n, s - n:], big[:, s - n:, :n], big[:, s - n:, s - n:],
                 big[:, c:c + n, c:c + n]]
        views += crops + [crop[:, :, ::-1] for crop in crops]
    return views


def test_views_are_ten_crops_per_scale_built_by_hand():
    x, scales = _images(), [12, 14, 17]
    views = tta_views(tf.constant(x), "multi_scale_crops", scales=scales)
    expected = _views_by_hand(x, scales)
    assert len(views) == 30
    for i, (got, want) in enumerate(zip(views, expected)):
        assert got.shape == x.shape, i
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-5, err_msg=f"view {i}")
    # At the input size the 5 crops are the image itself; at a larger scale they differ.
    np.testing.assert_allclose(np.asarray(views[0]), x, atol=1e-6)
    np.testing.assert_allclose(np.asarray(views[5]), x[:, :, ::-1], atol=1e-6)
    assert not np.allclose(np.asarray(views[10]), np.asarray(views[13]))


def test_prediction_is_the_mean_over_the_views():
    model, x, scales = _model(), _images(), [12, 16]
    expected = np.mean([np.asarray(model(v, training=False)) for v in _views_by_hand(x, scales)], axis=0)
    out = np.asarray(TestTimeAugmentation(model, "multi_scale_crops", scales=scales)(x))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.sum(-1), 1.0, atol=1e-5)
    assert not np.allclose(out, np.asarray(model(x)), atol=1e-4)


def test_non_square_images_resize_the_short_side():
    x = _images(h=8, w=12)
    views = tta_views(tf.constant(x), "multi_scale_crops", scales=[10])
    big = tf.image.resize(x, (10, 15)).numpy()
    np.testing.assert_allclose(np.asarray(views[3]), big[:, 2:10, 3:15], atol=1e-5)  # bottom-right
    np.testing.assert_allclose(np.asarray(views[4]), big[:, 1:9, 1:13], atol=1e-5)  # centre


def test_a_scale_below_the_input_size_is_refused():
    tta = TestTimeAugmentation(_model(), "multi_scale_crops", scales=[12, 10])
    with pytest.raises(ValueError, match="scales"):
        tta(_images())
    with pytest.raises(ValueError, match="scales"):
        TestTimeAugmentation(_model(), "multi_scale_crops", scales=[])


def test_keras_file_and_saved_model_round_trip(tmp_path):
    model, x = _model(), _images()
    tta = TestTimeAugmentation(model, "multi_scale_crops", scales=[12, 14])
    expected = np.asarray(tta(x))
    path = str(tmp_path / "tta.keras")
    tta.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.mode == "multi_scale_crops" and loaded.scales == [12, 14]
    np.testing.assert_allclose(np.asarray(loaded(x)), expected, atol=1e-6)
    module = tf.Module()
    module.tta = tta
    module.f = tf.function(lambda images: module.tta(images), input_signature=[tf.TensorSpec((None, 12, 12, 2))])
    tf.saved_model.save(module, str(tmp_path / "sm"))
    served = tf.saved_model.load(str(tmp_path / "sm"))  # kept alive while its function runs
    np.testing.assert_allclose(served.f(tf.constant(x)).numpy(), expected, atol=1e-6)


def test_recipe_choice_and_validation():
    recipe = with_overrides(Recipe(), {"augmentation.tta": "multi_scale_crops",
                                       "augmentation.tta_scales": [28, 32, 36]})
    assert recipe.augmentation.tta == "multi_scale_crops"
    with pytest.raises(ValueError, match="tta_scales"):
        with_overrides(Recipe(), {"augmentation.tta": "multi_scale_crops", "augmentation.tta_scales": [24, 28]})
    # Resized data: the side is data.image_size.
    with_overrides(Recipe(), {"data.dataset": "digits", "data.image_size": 16,
                              "augmentation.tta": "multi_scale_crops", "augmentation.tta_scales": [16, 20]})
