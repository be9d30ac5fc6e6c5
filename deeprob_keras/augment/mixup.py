"""Mixup (Zhang et al., 2018) on whole batches of (images, one-hot labels)."""

import keras
from keras import ops

from deeprob_keras.augment._sampling import check_positive_float, sample_beta, sample_permutation


def mixup(images, labels, lam, perm):
    """Mixes each example with its partner `perm[i]`.

    `x_i = lam_i * x_i + (1 - lam_i) * x_perm[i]`, `y_i = lam_i * y_i + (1 - lam_i) * y_perm[i]`.

    Args:
        images: float tensor `(B, H, W, C)`.
        labels: float one-hot / soft labels `(B, K)`.
        lam: mixing weights, shape `(B,)` (one per example) or a scalar.
        perm: int tensor `(B,)`, a permutation of the batch indices.
    """
    images = ops.convert_to_tensor(images)
    labels = ops.cast(ops.convert_to_tensor(labels), "float32")
    lam = ops.cast(ops.convert_to_tensor(lam), "float32")
    if len(lam.shape) == 0:
        lam = ops.broadcast_to(lam, ops.shape(images)[:1])
    lam_x = ops.cast(ops.reshape(lam, (-1, 1, 1, 1)), images.dtype)
    mixed_images = lam_x * images + (1.0 - lam_x) * ops.take(images, perm, axis=0)
    lam_y = ops.reshape(lam, (-1, 1))
    mixed_labels = lam_y * labels + (1.0 - lam_y) * ops.take(labels, perm, axis=0)
    return mixed_images, mixed_labels


@keras.saving.register_keras_serializable(package="deeprob")
class MixUp:
    """Batch-level Mixup for a `tf.data` map on `(images, one_hot_labels)` batches.

    Each example is paired with a randomly shuffled copy of the batch and mixed with
    its own `lam ~ Beta(alpha, alpha)` (sampled as a ratio of two Gammas with
    shape `alpha`): `x = lam * x_i + (1 - lam) * x_j`, `y = lam * y_i + (1 - lam) * y_j`.
    Unlike `keras.layers.MixUp` it takes and returns a `(images, labels)` tuple and
    draws one `lam` per example instead of one per batch. Training only: do not
    map it over evaluation data.

    Args:
        alpha: float > 0, the Beta concentration (0.2 is the paper's ImageNet value;
            small alpha puts most mass near 0 and 1, i.e. mild mixing).
        seed: optional int for `keras.random.SeedGenerator`.

    Example:
    >>> mix = MixUp(alpha=0.2, seed=0)
    >>> ds = ds.batch(128).map(lambda x, y: mix(x, tf.one_hot(y, 10)))
    """

    def __init__(self, alpha=0.2, seed=None):
        check_positive_float(alpha, "alpha")
        self.alpha = float(alpha)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def sample(self, batch_size):
        """Returns `(lam, perm)` for a batch of `batch_size` examples."""
        lam = sample_beta((batch_size,), self.alpha, self.seed_generator)
        return lam, sample_permutation(batch_size, self.seed_generator)

    def __call__(self, images, labels):
        lam, perm = self.sample(ops.shape(images)[0])
        return mixup(images, labels, lam, perm)

    def get_config(self):
        return {"alpha": self.alpha, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
