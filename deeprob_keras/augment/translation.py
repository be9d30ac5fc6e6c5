"""Random translation by whole pixels with zero fill, batched."""

import keras
from keras import ops


def translate_batch(images, dy, dx, max_pixels):
    """Shifts image `b` of `(B, H, W, C)` by `(dy[b], dx[b])` whole pixels, filling with zeros.

    `out[b, i, j] = images[b, i - dy[b], j - dx[b]]` where that pixel exists,
    else 0; `|dy|, |dx| <= max_pixels`. Two gathers on the zero-padded batch:
    no per-image op, no interpolation.
    """
    height, width = images.shape[1], images.shape[2]
    t = max_pixels
    padded = ops.pad(images, [[0, 0], [t, t], [t, t], [0, 0]])
    rows = ops.cast(t - dy, "int32")[:, None] + ops.arange(height, dtype="int32")[None, :]  # (B, H)
    cols = ops.cast(t - dx, "int32")[:, None] + ops.arange(width, dtype="int32")[None, :]   # (B, W)
    shape = ops.shape(padded)
    rows = ops.broadcast_to(rows[:, :, None, None], (shape[0], height, shape[2], shape[3]))
    out = ops.take_along_axis(padded, rows, axis=1)                                        # (B, H, W + 2t, C)
    cols = ops.broadcast_to(cols[:, None, :, None], (shape[0], height, width, shape[3]))
    return ops.take_along_axis(out, cols, axis=2)                                          # (B, H, W, C)


@keras.saving.register_keras_serializable(package="deeprob")
class PixelTranslation(keras.layers.Layer):
    """Shifts each training image by its own random offset of at most `max_pixels` pixels.

    Training: `out[i, j] = x[i - dy, j - dx]` (0 where that pixel is outside
    the image), with `dy, dx` drawn per image, independently and uniformly
    from the integers `-T..T`. This is the pad-and-random-crop translation of
    the fast CIFAR recipes. Inference: the identity.

    Written for the batch (two gathers on the padded batch) rather than
    through Keras's `RandomTranslation`, whose projective transform costs
    more CPU time in the input pipeline than this recipe can spare on 2
    cores (benchmarks/results/flops_efficiency.md).

    Args:
        max_pixels: int >= 1, T (must be smaller than the image side).
        seed: optional int.

    Example:
    >>> layer = PixelTranslation(2, seed=0)
    >>> shifted = layer(images, training=True)  # images (B, H, W, C)
    """

    def __init__(self, max_pixels, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
            raise ValueError(f"Expected an integer >= 1 for `max_pixels`. Received: max_pixels={max_pixels}")
        self.max_pixels, self.seed = max_pixels, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        height, width = input_shape[-3], input_shape[-2]
        if height is None or width is None:
            raise ValueError(f"PixelTranslation needs a known image size. Received: input_shape={input_shape}")
        if self.max_pixels >= min(height, width):
            raise ValueError(f"Expected `max_pixels` < the image side {min(height, width)}. "
                             f"Received: max_pixels={self.max_pixels}")

    def call(self, inputs, training=True):
        if not training:
            return inputs
        batch = ops.shape(inputs)[0]
        t = self.max_pixels
        dy = keras.random.randint((batch,), -t, t + 1, seed=self.seed_generator)
        dx = keras.random.randint((batch,), -t, t + 1, seed=self.seed_generator)
        return translate_batch(inputs, dy, dx, t)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_pixels": self.max_pixels, "seed": self.seed}
