import dataclasses

import numpy as np
import pytest
import keras
import tensorflow as tf

from deeprob_keras.augment import build_augmentation, fit_pca_lighting
from deeprob_keras.recipe.schema import AugmentationSpec


def _batch(b=16, size=28, channels=3, k=10):
    rng = np.random.default_rng(0)
    return rng.uniform(size=(b, size, size, channels)).astype("float32"), rng.integers(0, k, size=b)


def test_all_off():
    assert build_augmentation(AugmentationSpec(), num_classes=10) == (None, None)


def test_flip_only():
    image_fn, batch_fn = build_augmentation(AugmentationSpec(flip=True), num_classes=10, seed=0)
    assert batch_fn is None
    assert [type(layer) for layer in image_fn.layers] == [keras.layers.RandomFlip]
    x, _ = _batch(64)
    out = np.asarray(image_fn(x, training=True))
    flipped = np.all(out == x[:, :, ::-1, :], axis=(1, 2, 3))
    kept = np.all(out == x, axis=(1, 2, 3))
    assert np.all(flipped | kept) and flipped.any() and kept.any()
    np.testing.assert_array_equal(np.asarray(image_fn(x, training=False)), x)


def test_everything_on_in_tf_data_pipeline():
    x, y = _batch(32, size=32)
    spec = AugmentationSpec(flip=True, scale_min=28, scale_max=36, crop_size=28, brightness=0.2, contrast=0.2,
                            pca_lighting=0.1, random_erasing=0.5, erasing_fill="random", randaugment_ops=2,
                            mixup_alpha=0.2, cutmix_alpha=1.0)
    image_fn, batch_fn = build_augmentation(spec, num_classes=10, pca_stats=fit_pca_lighting(x), seed=0)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    ds = ds.map(lambda a, b: (image_fn(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda a, b: (a, tf.one_hot(b, 10))).map(batch_fn)
    for images, labels in ds:
        assert images.shape == (16, 28, 28, 3) and labels.shape == (16, 10)
        assert np.isfinite(images.numpy()).all()
        np.testing.assert_allclose(labels.numpy().sum(axis=1), 1.0, rtol=1e-5)


def test_mixup_and_cutmix_are_both_picked():
    # Constant images: Mixup blends everywhere, CutMix leaves pixels outside the box alone.
    b = 16
    x = np.broadcast_to(np.arange(b, dtype="float32")[:, None, None, None], (b, 8, 8, 1)).copy()
    spec = AugmentationSpec(mixup_alpha=1.0, cutmix_alpha=1.0)
    _, batch_fn = build_augmentation(spec, num_classes=4, seed=0)
    kinds = set()
    graph_fn = tf.function(batch_fn)
    for _ in range(12):
        images, labels = graph_fn(tf.constant(x), tf.constant(np.arange(b) % 4))  # sparse labels accepted
        assert labels.shape == (b, 4)
        values_per_image = [len(np.unique(img)) for img in images.numpy()]
        untouched = np.mean(np.asarray(images) == x)
        kinds.add("cutmix" if max(values_per_image) <= 2 and untouched > 0.3 else "mixup")
    assert kinds == {"mixup", "cutmix"}


def test_pca_without_stats_and_bad_num_classes():
    with pytest.raises(ValueError, match="pca_stats"):
        build_augmentation(AugmentationSpec(pca_lighting=0.1), num_classes=10)
    with pytest.raises(ValueError, match="num_classes"):
        build_augmentation(AugmentationSpec(), num_classes=1)
    with pytest.raises(ValueError, match="crop_size"):
        build_augmentation(AugmentationSpec(scale_min=20, scale_max=30, crop_size=28), num_classes=10)


def test_layers_carry_the_spec_values_in_order():
    spec = AugmentationSpec(flip=True, scale_min=28, scale_max=36, crop_size=24, brightness=0.2, contrast=0.3,
                            random_erasing=0.5, erasing_fill="zero", randaugment_ops=2, randaugment_magnitude=0.4)
    image_fn, batch_fn = build_augmentation(spec, num_classes=10, seed=3)
    assert batch_fn is None
    names = [type(layer).__name__ for layer in image_fn.layers]
    assert names[:4] == ["RandomScaleCrop", "RandomFlip", "RandomBrightness", "RandomContrast"]
    assert names[-1] == "RandomErasing"
    crop, flip, bright, contrast = image_fn.layers[:4]
    assert crop.get_config()["crop_size"] == 24 and flip.mode == "horizontal"
    assert np.max(np.abs(bright.get_config()["factor"])) == pytest.approx(0.2)
    assert np.max(np.abs(contrast.get_config()["factor"])) == pytest.approx(0.3)
    erasing = image_fn.layers[-1].get_config()
    assert erasing["probability"] == 0.5 and erasing["fill"] == "zero"
    x, _ = _batch(8, size=32)
    assert image_fn(x, training=True).shape == (8, 24, 24, 3)


def test_brightness_shifts_each_image_by_at_most_its_factor():
    spec = AugmentationSpec(brightness=0.2)
    image_fn, _ = build_augmentation(spec, num_classes=10, seed=0)
    x = np.random.default_rng(1).uniform(0.3, 0.7, size=(64, 8, 8, 3)).astype("float32")  # no clipping
    delta = np.asarray(image_fn(x, training=True)) - x
    per_image = delta.reshape(64, -1)
    np.testing.assert_allclose(per_image, np.broadcast_to(per_image[:, :1], per_image.shape), atol=1e-6)
    assert np.abs(per_image[:, 0]).max() <= 0.2 + 1e-6 and per_image[:, 0].std() > 0.05


def test_mixup_labels_mix_like_the_images():
    # Image i is constant i and has label i: a mixed image's value is the label-weighted mean of the indices.
    b = 8
    x = np.broadcast_to(np.arange(b, dtype="float32")[:, None, None, None], (b, 4, 4, 1)).copy()
    _, batch_fn = build_augmentation(AugmentationSpec(mixup_alpha=0.4), num_classes=b, seed=0)
    images, labels = batch_fn(tf.constant(x), tf.constant(np.arange(b)))
    images, labels = np.asarray(images), np.asarray(labels)
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(images.mean(axis=(1, 2, 3)), labels @ np.arange(b), rtol=1e-5, atol=1e-5)
    assert (labels.max(axis=1) < 1.0 - 1e-3).any()   # some pairs really were mixed


def test_cutmix_labels_are_the_pasted_area():
    b, side = 8, 16
    x = np.broadcast_to(np.arange(b, dtype="float32")[:, None, None, None], (b, side, side, 1)).copy()
    _, batch_fn = build_augmentation(AugmentationSpec(cutmix_alpha=1.0), num_classes=b, seed=1)
    images, labels = batch_fn(tf.constant(x), tf.constant(np.arange(b)))
    images, labels = np.asarray(images), np.asarray(labels)
    for i in range(b):
        share = np.array([np.mean(images[i] == k) for k in range(b)])   # the area of each source image
        np.testing.assert_allclose(labels[i], share, atol=1e-5)
    assert (labels.max(axis=1) < 1.0 - 1e-3).any()


def test_same_seed_same_augmentation_other_seed_other():
    spec = AugmentationSpec(flip=True, brightness=0.2, random_erasing=0.5)
    x, _ = _batch(16)
    outs = [np.asarray(build_augmentation(spec, num_classes=10, seed=s)[0](x, training=True)) for s in (5, 5, 6)]
    np.testing.assert_array_equal(outs[0], outs[1])
    assert np.abs(outs[0] - outs[2]).max() > 1e-3
