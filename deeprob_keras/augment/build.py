"""`build_augmentation`: the recipe's augmentation section -> (image_fn, batch_fn)."""

import keras
from keras import ops

from deeprob_keras.augment.cutmix import CutMix
from deeprob_keras.augment.mixup import MixUp
from deeprob_keras.augment.pca_lighting import PCALighting
from deeprob_keras.augment.rand_augment import make_rand_augment
from deeprob_keras.augment.random_erasing import RandomErasing
from deeprob_keras.augment.scale_augmentation import RandomScaleCrop
from deeprob_keras.augment.translation import PixelTranslation


def _seed(seed, offset):
    return None if seed is None else seed + offset


def build_image_layers(spec, pca_stats=None, seed=None):
    """The per-image layers switched on in `spec`, in application order."""
    layers = []
    if spec.crop_size is not None:
        layers.append(RandomScaleCrop(spec.scale_min, spec.scale_max, spec.crop_size, seed=_seed(seed, 1)))
    if spec.flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=_seed(seed, 2)))
    if spec.translate > 0:
        layers.append(PixelTranslation(spec.translate, seed=_seed(seed, 11)))
    if spec.brightness > 0:
        layers.append(keras.layers.RandomBrightness(spec.brightness, value_range=(0, 1), seed=_seed(seed, 3)))
    if spec.contrast > 0:
        # (c, c), not c: Keras 3.12 turns a float c into the bounds (0, c) (its _FACTOR_BOUNDS clip
        # -c to 0), so the factor is drawn from [1, 1 + c] and contrast never decreases.
        layers.append(keras.layers.RandomContrast((spec.contrast, spec.contrast), value_range=(0, 1),
                                                  seed=_seed(seed, 4)))
    if spec.pca_lighting > 0:
        if pca_stats is None:
            raise ValueError(
                "augmentation.pca_lighting > 0 needs pca_stats=(eigenvalues, eigenvectors): compute them "
                "from the training images with deeprob_keras.augment.fit_pca_lighting. "
                f"Received: pca_stats=None, pca_lighting={spec.pca_lighting}")
        vals, vecs = pca_stats
        layers.append(PCALighting(spec.pca_lighting, vals, vecs, seed=_seed(seed, 5)))
    if spec.randaugment_ops > 0:
        layers.append(make_rand_augment(spec.randaugment_ops, spec.randaugment_magnitude, (0, 1),
                                        seed=_seed(seed, 6)))
    if spec.random_erasing > 0:
        layers.append(RandomErasing(spec.random_erasing, fill=spec.erasing_fill, seed=_seed(seed, 7)))
    return layers


def build_batch_fn(spec, num_classes, seed=None):
    """`(images, labels) -> (images, soft_labels)` applying Mixup / CutMix, or None.

    Sparse labels (rank 1) are one-hot encoded first. With both on, each batch gets
    one of the two with probability 1/2.
    """
    mix = MixUp(spec.mixup_alpha, seed=_seed(seed, 8)) if spec.mixup_alpha > 0 else None
    cut = CutMix(spec.cutmix_alpha, seed=_seed(seed, 9)) if spec.cutmix_alpha > 0 else None
    if mix is None and cut is None:
        return None
    coin = keras.random.SeedGenerator(_seed(seed, 10))

    def batch_fn(images, labels):
        labels = ops.convert_to_tensor(labels)
        if len(labels.shape) == 1:
            labels = ops.one_hot(ops.cast(labels, "int32"), num_classes)
        labels = ops.cast(labels, "float32")
        if cut is None:
            return mix(images, labels)
        if mix is None:
            return cut(images, labels)
        heads = keras.random.uniform((), seed=coin) < 0.5
        return ops.cond(heads, lambda: mix(images, labels), lambda: cut(images, labels))

    batch_fn.mixup, batch_fn.cutmix = mix, cut
    batch_fn.seed_generators = [coin] + [layer for layer in (mix, cut) if layer is not None]
    return batch_fn


def build_augmentation(spec, num_classes, pca_stats=None, seed=None):
    """Turns an `AugmentationSpec` into the two functions of the training input pipeline.

    Args:
        spec: `deeprob_keras.recipe.schema.AugmentationSpec`.
        num_classes: int >= 2, for one-hot encoding sparse labels in `batch_fn`.
        pca_stats: `(eigenvalues, eigenvectors)` from `fit_pca_lighting`, needed
            when `spec.pca_lighting > 0`.
        seed: optional int; each augmentation gets `seed + k`.

    Returns:
        `(image_fn, batch_fn)`. `image_fn` is a `keras.Sequential` of per-image
        layers (scale crop, flip, translation, brightness, contrast, PCA lighting, RandAugment,
        random erasing; images float32 in [0, 1], NHWC) or None when none is on.
        `batch_fn(images, one_hot_labels) -> (images, labels)` applies Mixup / CutMix,
        or is None. `spec.tta` is not used here (see `TestTimeAugmentation`).

    Example:
    >>> image_fn, batch_fn = build_augmentation(recipe.augmentation, num_classes=10)
    >>> ds = ds.map(lambda x, y: (image_fn(x, training=True), y))
    >>> ds = ds.map(lambda x, y: (x, tf.one_hot(y, 10))).map(batch_fn)
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"Expected an integer >= 2 for `num_classes`. Received: num_classes={num_classes}")
    if hasattr(spec, "validate"):
        spec.validate()
    layers = build_image_layers(spec, pca_stats, seed)
    image_fn = keras.Sequential(layers, name="augmentation") if layers else None
    return image_fn, build_batch_fn(spec, num_classes, seed)
