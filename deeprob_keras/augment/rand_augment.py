"""RandAugment (Cubuk et al., 2020): N random ops at magnitude M, per image."""

import keras
from keras import ops

IMPLEMENTATIONS = ("keras_cv", "keras")


def _keras_cv_available():
    try:
        import keras_cv  # noqa: F401
    except Exception:  # pragma: no cover - depends on the environment
        return False
    return True


@keras.saving.register_keras_serializable(package="deeprob")
class RandAugment(keras.layers.Layer):
    """RandAugment that works in a `tf.data` map on RGB and grayscale batches.

    Applies `num_ops` operations drawn from the RandAugment list at magnitude
    `magnitude` (a fraction of each op's maximum). Delegates to keras-cv 0.9's
    `RandAugment` (ops drawn per image; `magnitude_stddev=0.15`, `rate=10/11`:
    keras-cv's defaults) or to Keras core's (`keras.layers.RandAugment`: the same ops
    for the whole batch). keras-cv was measured ~3x faster in a `tf.data` map on
    2 CPU cores (see benchmarks/augmentation.py). Grayscale images are tiled to
    3 channels and averaged back (Keras core fails on 1 channel). Inputs are clipped
    to `value_range` first (keras-cv's equalize fails on values outside). Identity when
    `training=False` (keras-cv's layer alone still augments then).

    Args:
        num_ops: int in [1, 14], the N of RandAugment.
        magnitude: float in [0, 1], the M of RandAugment as a fraction of the max.
        value_range: `(low, high)` of the pixel values.
        implementation: `"keras_cv"` or `"keras"`.
        seed: optional int.
    """

    def __init__(self, num_ops=2, magnitude=0.5, value_range=(0.0, 1.0), implementation="keras_cv",
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_ops, bool) or not isinstance(num_ops, int) or not 1 <= num_ops <= 14:
            raise ValueError(f"Expected an integer between 1 and 14 for `num_ops`. Received: num_ops={num_ops}")
        if isinstance(magnitude, bool) or not isinstance(magnitude, (int, float)) or not 0 <= magnitude <= 1:
            raise ValueError(f"Expected a float value between 0 and 1 for `magnitude`. Received: magnitude={magnitude}")
        if not (isinstance(value_range, (tuple, list)) and len(value_range) == 2 and value_range[0] < value_range[1]):
            raise ValueError(f"Expected `value_range` = (low, high) with low < high. Received: value_range={value_range}")
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"Expected `implementation` in {IMPLEMENTATIONS}. Received: implementation={implementation!r}")
        self.num_ops, self.magnitude = num_ops, float(magnitude)
        self.value_range = tuple(float(v) for v in value_range)
        self.implementation, self.seed = implementation, seed
        if implementation == "keras_cv":
            import keras_cv

            self.inner = keras_cv.layers.RandAugment(
                value_range=self.value_range, augmentations_per_image=num_ops,
                magnitude=self.magnitude, seed=seed)
        else:
            self.inner = keras.layers.RandAugment(
                value_range=self.value_range, num_ops=num_ops, factor=self.magnitude, seed=seed)

    def build(self, input_shape):
        self.built = True

    def call(self, inputs, training=False):
        if not training:
            return inputs
        gray = inputs.shape[-1] == 1
        x = ops.repeat(inputs, 3, axis=-1) if gray else inputs
        x = ops.clip(x, self.value_range[0], self.value_range[1])  # equalize fails outside the range
        x = ops.cast(self.inner(x, training=True), inputs.dtype)
        return ops.mean(x, axis=-1, keepdims=True) if gray else x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_ops": self.num_ops, "magnitude": self.magnitude,
                "value_range": self.value_range, "implementation": self.implementation, "seed": self.seed}


def make_rand_augment(num_ops, magnitude, value_range=(0, 1), seed=None, implementation="batched"):
    """The RandAugment layer to use; the recipe's `augmentation.randaugment_ops` builds it.

    `"batched"` (the default): `BatchedRandAugment`, ops and magnitudes drawn per image,
    the batch computed at once (measured several times faster than keras-cv's in
    benchmarks/augmentation.py). `"keras_cv"` / `"keras"`: the `RandAugment` wrapper above,
    kept for comparison (`"keras_cv"` falls back to `"keras"` when keras-cv is missing).

    Example:
    >>> layer = make_rand_augment(2, 0.5)
    >>> ds = ds.map(lambda x, y: (layer(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    """
    if implementation == "batched":
        from deeprob_keras.augment.batched_rand_augment import BatchedRandAugment

        return BatchedRandAugment(num_ops, magnitude, tuple(value_range), seed=seed)
    if implementation == "keras_cv" and not _keras_cv_available():
        implementation = "keras"
    return RandAugment(num_ops, magnitude, tuple(value_range), implementation=implementation, seed=seed)
