"""Random translation by whole pixels with zero fill, through Keras's `RandomTranslation`."""

import keras


@keras.saving.register_keras_serializable(package="deeprob")
class PixelTranslation(keras.layers.Layer):
    """Shifts each training image by its own random offset of at most `max_pixels` pixels.

    Training: `out[i, j] = x[i - dy, j - dx]` (0 where that pixel is outside
    the image), with `dy = round(u)`, `dx = round(v)`, `u, v ~ U[-T, T]`
    drawn per image: every integer in `[-T, T]` occurs, the two ends half as
    often as the others. This is the pad-and-random-crop translation of the
    fast CIFAR recipes. Inference: the identity.

    Keras's `RandomTranslation` already draws one shift per image, but as a
    fraction of the image side; this layer turns `T` pixels into that
    fraction when it sees the image size, and fixes zero fill and nearest
    interpolation so that every output pixel is an input pixel or 0.

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
        self._inner = None

    def build(self, input_shape):
        height, width = input_shape[-3], input_shape[-2]
        if height is None or width is None:
            raise ValueError(f"PixelTranslation needs a known image size. Received: input_shape={input_shape}")
        if self.max_pixels >= min(height, width):
            raise ValueError(f"Expected `max_pixels` < the image side {min(height, width)}. "
                             f"Received: max_pixels={self.max_pixels}")
        self._inner = keras.layers.RandomTranslation(
            self.max_pixels / height, self.max_pixels / width, fill_mode="constant",
            interpolation="nearest", fill_value=0.0, seed=self.seed)
        self._inner.build(input_shape)

    def call(self, inputs, training=True):
        if not training:
            return inputs
        return self._inner(inputs, training=True)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_pixels": self.max_pixels, "seed": self.seed}
