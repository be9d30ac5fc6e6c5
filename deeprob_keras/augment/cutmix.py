"""CutMix (Yun et al., 2019) on whole batches of (images, one-hot labels)."""

import keras
from keras import ops

from deeprob_keras.augment._sampling import check_positive_float, sample_beta, sample_permutation


def box_mask(shape, box):
    """Boolean `(B, H, W, 1)` mask, True inside `box[i] = (y0, x0, y1, x1)` (end exclusive)."""
    height, width = shape[1], shape[2]
    box = ops.cast(box, "int32")
    rows = ops.reshape(ops.arange(height, dtype="int32"), (1, -1, 1, 1))
    cols = ops.reshape(ops.arange(width, dtype="int32"), (1, 1, -1, 1))
    y0, x0, y1, x1 = [ops.reshape(box[:, i], (-1, 1, 1, 1)) for i in range(4)]
    return (rows >= y0) & (rows < y1) & (cols >= x0) & (cols < x1)


def cutmix(images, labels, box, perm):
    """Pastes `box[i]` of example `perm[i]` into example `i`.

    The labels are mixed by the pasted pixel fraction `f_i = area(box_i) / (H W)`:
    `y_i = (1 - f_i) * y_i + f_i * y_perm[i]`.

    Args:
        images: float tensor `(B, H, W, C)`.
        labels: float one-hot / soft labels `(B, K)`.
        box: int tensor `(B, 4)` of `(y0, x0, y1, x1)`, already clipped to the image.
        perm: int tensor `(B,)`, a permutation of the batch indices.
    """
    images = ops.convert_to_tensor(images)
    labels = ops.cast(ops.convert_to_tensor(labels), "float32")
    shape = ops.shape(images)
    mask = box_mask(shape, box)
    mixed_images = ops.where(mask, ops.take(images, perm, axis=0), images)
    box = ops.cast(box, "float32")
    area = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
    frac = ops.reshape(area / ops.cast(shape[1] * shape[2], "float32"), (-1, 1))
    mixed_labels = (1.0 - frac) * labels + frac * ops.take(labels, perm, axis=0)
    return mixed_images, mixed_labels


def sample_cutmix_box(lam, height, width, seed):
    """Box of area fraction `1 - lam` with a uniform centre, clipped at the border.

    Sides `H sqrt(1 - lam)` and `W sqrt(1 - lam)`; clipping shrinks the box near the
    border, so the pasted fraction (what `cutmix` mixes the labels by) can be
    smaller than `1 - lam`.
    """
    batch = ops.shape(lam)[0]
    ratio = ops.sqrt(1.0 - lam)
    h = ops.cast(height, "float32")
    w = ops.cast(width, "float32")
    cy = keras.random.uniform((batch,), 0.0, 1.0, seed=seed) * h
    cx = keras.random.uniform((batch,), 0.0, 1.0, seed=seed) * w
    half_h, half_w = h * ratio / 2.0, w * ratio / 2.0
    y0 = ops.clip(ops.round(cy - half_h), 0.0, h)
    y1 = ops.clip(ops.round(cy + half_h), 0.0, h)
    x0 = ops.clip(ops.round(cx - half_w), 0.0, w)
    x1 = ops.clip(ops.round(cx + half_w), 0.0, w)
    return ops.cast(ops.stack([y0, x0, y1, x1], axis=1), "int32")


@keras.saving.register_keras_serializable(package="deeprob")
class CutMix:
    """Batch-level CutMix for a `tf.data` map on `(images, one_hot_labels)` batches.

    Each example `i` gets a rectangle pasted from its partner `j` in a shuffled copy
    of the batch. Per example `lam ~ Beta(alpha, alpha)`; the box has area fraction
    `1 - lam`, a uniform centre, and is clipped at the border; the labels are mixed
    by the fraction of pixels actually pasted: `y = (1 - f) y_i + f y_j`.
    Takes and returns a `(images, labels)` tuple. Training only.

    Args:
        alpha: float > 0, the Beta concentration (1.0 in the paper).
        seed: optional int for `keras.random.SeedGenerator`.

    Example:
    >>> cut = CutMix(alpha=1.0, seed=0)
    >>> ds = ds.batch(128).map(lambda x, y: cut(x, tf.one_hot(y, 10)))
    """

    def __init__(self, alpha=1.0, seed=None):
        check_positive_float(alpha, "alpha")
        self.alpha = float(alpha)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def sample(self, shape):
        """Returns `(box, perm)` for images of `shape = (B, H, W, C)`."""
        lam = sample_beta((shape[0],), self.alpha, self.seed_generator)
        box = sample_cutmix_box(lam, shape[1], shape[2], self.seed_generator)
        return box, sample_permutation(shape[0], self.seed_generator)

    def __call__(self, images, labels):
        box, perm = self.sample(ops.shape(images))
        return cutmix(images, labels, box, perm)

    def get_config(self):
        return {"alpha": self.alpha, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
