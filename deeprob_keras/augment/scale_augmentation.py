"""Scale augmentation (VGG / ResNet): resize the short side to L, crop S x S."""

import keras
from keras import ops


def _interpolation_matrix(coords, size):
    """Bilinear weights `(B, S, size)`: hat function `max(0, 1 - |i - c|)`, c clamped."""
    coords = ops.clip(coords, 0.0, ops.cast(size, "float32") - 1.0)
    grid = ops.cast(ops.arange(size), "float32")
    return ops.relu(1.0 - ops.abs(grid[None, None, :] - coords[:, :, None]))


def scale_crop(images, resized, offsets, crop_size):
    """Crops `crop_size x crop_size` at `offsets` from each image resized to `resized`.

    Equals `resize(images[i], resized[i])` (bilinear, half-pixel centres, no
    antialiasing) followed by `[oy:oy + S, ox:ox + S]`, without materializing the
    resized images: output pixel `j` samples input coordinate `(o + j + 0.5) / f - 0.5`
    with `f = resized / size`, as one separable matrix product per image.

    Args:
        images: `(B, H, W, C)`.
        resized: int `(B, 2)` resized `(height, width)`.
        offsets: int `(B, 2)` crop offsets `(oy, ox)` in the resized image.
        crop_size: int `S`.
    """
    images = ops.convert_to_tensor(images)
    shape = ops.shape(images)
    steps = ops.cast(ops.arange(crop_size), "float32")[None, :]
    resized, offsets = ops.cast(resized, "float32"), ops.cast(offsets, "float32")
    coords = []
    for axis in (0, 1):
        scale = resized[:, axis:axis + 1] / ops.cast(shape[1 + axis], "float32")
        coords.append((offsets[:, axis:axis + 1] + steps + 0.5) / scale - 0.5)
    rows = ops.cast(_interpolation_matrix(coords[0], shape[1]), images.dtype)
    cols = ops.cast(_interpolation_matrix(coords[1], shape[2]), images.dtype)
    return ops.einsum("bsh,bhwc,btw->bstc", rows, images, cols)


@keras.saving.register_keras_serializable(package="deeprob")
class RandomScaleCrop(keras.layers.Layer):
    """Resizes each image's short side to a random `L`, then crops `S x S` at random.

    Training: per image `L ~ U{scale_min, ..., scale_max}` (VGG's multi-scale
    training, ResNet's [256, 480]); the image is resized (bilinear) so that its
    short side is `L`, and a random `crop_size x crop_size` window is kept.
    Inference (`training=False`): the short side is resized to `scale_min` and the
    centre `crop_size x crop_size` window is kept (identity when the images are
    already `scale_min` = `crop_size` square).

    Args:
        scale_min: int >= 1, smallest short side `L`.
        scale_max: int >= scale_min, largest short side `L`.
        crop_size: int in [1, scale_min], the side `S` of the output.
        seed: optional int.

    Example:
    >>> layer = RandomScaleCrop(28, 36, 28)  # Fashion-MNIST: zoom in up to 36/28
    >>> ds = ds.map(lambda x, y: (layer(x, training=True), y))
    """

    def __init__(self, scale_min, scale_max, crop_size, seed=None, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("scale_min", scale_min), ("scale_max", scale_max), ("crop_size", crop_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Expected an integer >= 1 for `{name}`. Received: {name}={value}")
        if scale_max < scale_min:
            raise ValueError(f"Expected `scale_max` >= scale_min={scale_min}. Received: scale_max={scale_max}")
        if crop_size > scale_min:
            raise ValueError(
                f"Expected `crop_size` <= scale_min={scale_min} (the crop must fit the resized image). "
                f"Received: crop_size={crop_size}")
        self.scale_min, self.scale_max, self.crop_size = scale_min, scale_max, crop_size
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def sample(self, shape, training):
        """Returns `(resized, offsets)`, int `(B, 2)` each."""
        batch = shape[0]
        hw = ops.cast(ops.stack([shape[1], shape[2]]), "float32")
        if training:
            short = ops.floor(keras.random.uniform(
                (batch,), self.scale_min, self.scale_max + 1.0, seed=self.seed_generator))
            short = ops.minimum(short, float(self.scale_max))
        else:
            short = ops.full((batch,), float(self.scale_min))
        resized = ops.round(hw[None, :] * short[:, None] / ops.min(hw))
        room = resized - self.crop_size
        if training:
            u = keras.random.uniform((batch, 2), seed=self.seed_generator)
            offsets = ops.minimum(ops.floor(u * (room + 1.0)), room)
        else:
            offsets = ops.floor(room / 2.0)
        return ops.cast(resized, "int32"), ops.cast(offsets, "int32")

    def call(self, inputs, training=False):
        resized, offsets = self.sample(ops.shape(inputs), bool(training))
        return scale_crop(inputs, resized, offsets, self.crop_size)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.crop_size, self.crop_size, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "scale_min": self.scale_min, "scale_max": self.scale_max,
                "crop_size": self.crop_size, "seed": self.seed}
