"""Progressive resizing: the early epochs train on downscaled images, the last ones at full size.

A convolution's work scales with the pixels it sees, `(s / S)^2` of a full-size
step at side `s` of an `S x S` image. The high-learning-rate epochs, which learn
coarse features, run small; the annealing epochs run at the size the model is
evaluated and served at (fast.ai's DAWNBench ImageNet runs; FFCV's ResNet-50
configs ramp 160 -> 192 pixels). Measured epochs save less than the pixels say
(docs/MEASUREMENTS_NOTES.md, stop 37: on the wide 4-stage network an epoch at
16 of 28 pixels took 0.56 of a full one, and sides of 25-27 a full one, since
stride-2 stages then give the deepest, widest maps the same size as at 28).

`ProgressiveResize` is the model's first layer: in training it resizes the
batch to the side a `ProgressiveResizing` callback sets each epoch
(`progressive_sizes`); at inference (validation, evaluation, serving) it is the
identity, so the exported model is unchanged.
"""

import math

import keras
import tensorflow as tf

from deeprob_keras.layers._checks import check_int

INTERPOLATIONS = ("bilinear", "area", "nearest", "bicubic")


def progressive_sizes(min_size, full_size, ramp_epochs, epochs):
    """The training side of each epoch: `min_size` at epoch 0, rising linearly, `full_size` from `ramp_epochs` on.

    `s(e) = floor(min_size + (full_size - min_size) * e / ramp_epochs + 1/2)` (rounded half up) for
    `e < ramp_epochs`, else `full_size`.

    Args:
        min_size: int in [1, full_size], the side of epoch 0.
        full_size: int >= 1, the image side.
        ramp_epochs: int >= 0, the first epoch at full size (0: every epoch at full size).
        epochs: int >= 0, how many epochs to list.

    Example:

    >>> progressive_sizes(16, 28, 4, 6)
    [16, 19, 22, 25, 28, 28]
    """
    for name, value, low in (("min_size", min_size, 1), ("full_size", full_size, 1),
                             ("ramp_epochs", ramp_epochs, 0), ("epochs", epochs, 0)):
        check_int(name, value, low)
    if min_size > full_size:
        raise ValueError(f"`min_size` must be <= `full_size`. Received: min_size={min_size}, full_size={full_size}")
    return [full_size if e >= ramp_epochs else math.floor(min_size + (full_size - min_size) * e / ramp_epochs + 0.5)
            for e in range(epochs)]


@keras.saving.register_keras_serializable(package="deeprob")
class ProgressiveResize(keras.layers.Layer):
    """In training, resizes the `(batch, H, W, C)` batch to the current size; identity at inference.

    The current size starts at the input's `H x W` (no resize) and is set with
    `set_size` (by `deeprob_keras.callbacks.ProgressiveResizing`, every epoch).
    The layer computes in float32 whatever the dtype policy (the layers after it
    compute in the policy's dtype). Its output shape is
    declared as the input's: the model's layers, FLOP count and exported
    signature are those of the full-size model.

    Args:
        interpolation: one of `INTERPOLATIONS`. Defaults to `"bilinear"`.
        antialias: bool, filter before downscaling (no aliasing of thin
            stripes). Defaults to True.
    """

    def __init__(self, interpolation="bilinear", antialias=True, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"`interpolation` must be one of {INTERPOLATIONS}. Received: interpolation={interpolation!r}")
        self.interpolation = interpolation
        self.antialias = bool(antialias)
        self.full_shape = None

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[1] is None or input_shape[2] is None:
            raise ValueError(f"ProgressiveResize expects images (batch, H, W, C) of a known H and W. "
                             f"Received: input_shape={input_shape}")
        self.full_shape = (int(input_shape[1]), int(input_shape[2]))
        self.size = self.add_weight(shape=(2,), dtype="int32", trainable=False, name="size",
                                    initializer=keras.initializers.Constant(list(self.full_shape)))

    def set_size(self, height, width=None):
        """Training batches are resized to `height x width` (width: kept in the image's aspect ratio)."""
        full_h, full_w = self.full_shape
        if width is None:
            width = max(1, int(round(full_w * height / full_h)))
        for name, value, full in (("height", height, full_h), ("width", width, full_w)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= full:
                raise ValueError(f"Expected an integer in [1, {full}] for `{name}` (the image's {name} is the "
                                 f"largest). Received: {name}={value!r}")
        self.size.assign([height, width])

    def call(self, inputs, training=None):
        if not training:
            return inputs
        size = tf.convert_to_tensor(self.size)
        same = tf.reduce_all(tf.equal(size, tf.shape(inputs)[1:3]))
        return tf.cond(same, lambda: inputs, lambda: tf.cast(tf.image.resize(
            inputs, size, method=self.interpolation, antialias=self.antialias), inputs.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation, "antialias": self.antialias}
