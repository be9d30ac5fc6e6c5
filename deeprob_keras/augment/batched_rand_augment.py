"""RandAugment batched: every image draws its own N ops and magnitudes, no per-image loop.

The op math lives in plain functions on images in [0, 1] with one parameter per
image (`(B,)` vectors), so that each op can be tested against a formula; the layer
samples the parameters, computes every candidate op for the whole batch and keeps,
per image, the one that image drew (one gather). The five geometric ops share a
single batched affine warp: each image gets the matrix of the op it drew.
"""

import math

import keras
import tensorflow as tf
from keras import ops

from deeprob_keras.augment._sampling import check_probability

OPS = ("identity", "auto_contrast", "equalize", "rotate", "solarize", "color", "posterize", "contrast",
       "brightness", "sharpness", "shear_x", "shear_y", "translate_x", "translate_y")
GEOMETRIC = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")
# Strength at magnitude 1 (AutoAugment / timm conventions, images in [0, 1]).
MAX_ROTATE_DEGREES, MAX_SHEAR, MAX_TRANSLATE, MAX_ENHANCE, MAX_POSTERIZE_BITS_REMOVED = 30.0, 0.3, 0.45, 0.9, 4
GRAY_WEIGHTS = (0.299, 0.587, 0.114)  # PIL's "L" conversion
SMOOTH_KERNEL = ((1.0, 1.0, 1.0), (1.0, 5.0, 1.0), (1.0, 1.0, 1.0))  # PIL's ImageFilter.SMOOTH, / 13


def _per_image(values):
    """`(B,)` -> `(B, 1, 1, 1)` for broadcasting against NHWC images."""
    return ops.reshape(ops.cast(values, "float32"), (-1, 1, 1, 1))


def grayscale(images):
    """`(B, H, W, 1)` luminance of NHWC images: PIL's weights on RGB, the channel mean otherwise."""
    if images.shape[-1] == 1:
        return images
    if images.shape[-1] != 3:
        return ops.mean(images, axis=-1, keepdims=True)
    return ops.sum(images * ops.convert_to_tensor(GRAY_WEIGHTS, images.dtype), axis=-1, keepdims=True)


def blend(degenerate, images, factor):
    """`clip(degenerate + factor * (images - degenerate), 0, 1)`, PIL's ImageEnhance with one factor per image."""
    return ops.clip(degenerate + _per_image(factor) * (images - degenerate), 0.0, 1.0)


def auto_contrast(images):
    """Stretches each channel of each image to [0, 1]; a constant channel is left as it is."""
    low = tf.reduce_min(images, axis=(1, 2), keepdims=True)  # keras.ops.min asserts a non-empty batch
    high = tf.reduce_max(images, axis=(1, 2), keepdims=True)
    span = high - low
    return ops.where(span > 0, (images - low) / ops.maximum(span, 1e-12), images)


def equalize(images):
    """Histogram equalization of each channel of each image on 256 levels (PIL's algorithm).

    `v = round(255 x)`; `step = (HW - count of the largest v) // 255`; the level
    `i` maps to `(step // 2 + #{pixels below i}) // step`; a channel with
    `step == 0` (one or two levels only) is left as it is.
    """
    shape = tf.shape(images)
    channels = images.shape[-1]
    pixels = shape[1] * shape[2]
    levels = tf.cast(tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0), tf.int32)
    rows = tf.reshape(tf.transpose(levels, (0, 3, 1, 2)), (shape[0] * channels, pixels))  # (B*C, H*W)
    hist = tf.math.bincount(rows, minlength=256, maxlength=256, axis=-1)  # (B*C, 256)
    last = tf.gather(hist, tf.reduce_max(rows, axis=1), batch_dims=1)
    step = (pixels - last) // 255
    below = tf.cumsum(hist, axis=1, exclusive=True)
    safe_step = tf.maximum(step, 1)[:, None]
    lut = tf.minimum((safe_step // 2 + below) // safe_step, 255)
    mapped = tf.cast(tf.gather(lut, rows, batch_dims=1), images.dtype) / 255.0
    mapped = tf.where((step > 0)[:, None], mapped, tf.cast(rows, images.dtype) / 255.0)
    mapped = tf.transpose(tf.reshape(mapped, (shape[0], channels, shape[1], shape[2])), (0, 2, 3, 1))
    constant = tf.reshape(step == 0, (shape[0], 1, 1, channels))
    return tf.where(constant, images, mapped)


def solarize(images, threshold):
    """Inverts (`1 - x`) the pixels at or above each image's threshold."""
    return ops.where(images >= _per_image(threshold), 1.0 - images, images)


def posterize(images, bits):
    """Keeps the `bits` high bits of the 8-bit level `round(255 x)` of each pixel (`bits` per image)."""
    levels = ops.round(images * 255.0)
    quantum = _per_image(2.0 ** (8.0 - ops.cast(bits, "float32")))
    return ops.floor(levels / quantum) * quantum / 255.0


def brightness(images, factor):
    """PIL Brightness: blend with black."""
    return blend(ops.zeros_like(images), images, factor)


def contrast(images, factor):
    """PIL Contrast: blend with the mean of each image's grayscale."""
    return blend(ops.mean(grayscale(images), axis=(1, 2, 3), keepdims=True), images, factor)


def color(images, factor):
    """PIL Color: blend with each image's grayscale (the identity on one channel)."""
    if images.shape[-1] == 1:
        return images
    return blend(grayscale(images), images, factor)


def sharpness(images, factor):
    """PIL Sharpness: blend with the SMOOTH-filtered image, whose one-pixel border is the image's own."""
    channels = images.shape[-1]
    kernel = ops.convert_to_tensor(SMOOTH_KERNEL, images.dtype) / 13.0
    kernel = ops.tile(ops.reshape(kernel, (3, 3, 1, 1)), (1, 1, channels, 1))
    smooth = ops.depthwise_conv(images, kernel, strides=1, padding="same")
    shape = ops.shape(images)
    rows, cols = ops.arange(shape[1]), ops.arange(shape[2])
    inner_rows = (rows > 0) & (rows < shape[1] - 1)
    inner_cols = (cols > 0) & (cols < shape[2] - 1)
    inner = ops.reshape(inner_rows, (1, -1, 1, 1)) & ops.reshape(inner_cols, (1, 1, -1, 1))
    return blend(ops.where(inner, smooth, images), images, factor)


def affine_matrices(op_index, magnitude, sign, height, width):
    """Per image the 8 numbers of the output->input affine map of its geometric op (identity otherwise).

    Rotation by `30 m` degrees and shear by `0.3 m` about the image centre, translation
    by `round(0.45 m side)` whole pixels, each with the image's sign.
    """
    m, s = ops.cast(magnitude, "float32"), ops.cast(sign, "float32")
    h, w = ops.cast(height, "float32"), ops.cast(width, "float32")
    cy, cx = (h - 1.0) / 2.0, (w - 1.0) / 2.0
    is_op = {name: ops.equal(op_index, OPS.index(name)) for name in GEOMETRIC}
    zero, one = ops.zeros_like(m), ops.ones_like(m)
    angle = s * m * (MAX_ROTATE_DEGREES * math.pi / 180.0)
    shear = s * m * MAX_SHEAR
    a = ops.where(is_op["rotate"], ops.cos(angle), one)
    b = ops.where(is_op["rotate"], -ops.sin(angle), ops.where(is_op["shear_x"], shear, zero))
    c = ops.where(is_op["rotate"], ops.sin(angle), ops.where(is_op["shear_y"], shear, zero))
    d = a
    dx = ops.where(is_op["translate_x"], -s * ops.round(m * MAX_TRANSLATE * w), zero)
    dy = ops.where(is_op["translate_y"], -s * ops.round(m * MAX_TRANSLATE * h), zero)
    return ops.stack([a, b, cx - a * cx - b * cy + dx, c, d, cy - c * cx - d * cy + dy, zero, zero], axis=1)


def warp(images, matrices):
    """Bilinear affine warp of each image by its own output->input map; zero (black) fill."""
    return ops.image.affine_transform(images, matrices, interpolation="bilinear", fill_mode="constant",
                                      fill_value=0.0)


SLOTS = ("identity", "auto_contrast", "equalize", "geometric", "solarize", "color", "posterize", "contrast",
         "brightness", "sharpness")  # the distinct computations: the geometric ops share one warp


def _candidates(images, op_index, m, s):
    """`{slot name: fn()}` computing one candidate op for the images given, in [0, 1]."""
    enhance = 1.0 + s * m * MAX_ENHANCE
    shape = ops.shape(images)
    return {
        "identity": lambda: images,
        "auto_contrast": lambda: auto_contrast(images),
        "equalize": lambda: equalize(images),
        "geometric": lambda: warp(images, affine_matrices(op_index, m, s, shape[1], shape[2])),
        "solarize": lambda: solarize(images, 1.0 - m),
        "color": lambda: color(images, enhance),
        "posterize": lambda: posterize(images, 8.0 - ops.round(m * MAX_POSTERIZE_BITS_REMOVED)),
        "contrast": lambda: contrast(images, enhance),
        "brightness": lambda: brightness(images, enhance),
        "sharpness": lambda: sharpness(images, enhance),
    }


OP_SLOT = tuple(SLOTS.index("geometric" if op in GEOMETRIC else op) for op in OPS)
DISPATCHES = ("partition", "dense")


def apply_ops(images, op_index, magnitude, sign, dispatch="partition"):
    """Applies to image `i` the op `OPS[op_index[i]]` at `magnitude[i]` in [0, 1] with `sign[i]` in {-1, 1}.

    Images are float in [0, 1], NHWC. `dispatch="dense"` computes every candidate op
    for the whole batch and keeps each image's own result with one gather.
    `dispatch="partition"` (the default, same result) splits the batch by op with
    `tf.dynamic_partition`, runs each op once on the images that drew it and puts them
    back with `tf.dynamic_stitch`: each image goes through one op instead of ten.
    """
    m, s = ops.cast(magnitude, "float32"), ops.cast(sign, "float32")
    op_index = ops.cast(op_index, "int32")
    slot = ops.take(ops.convert_to_tensor(OP_SLOT, "int32"), op_index)
    if dispatch == "dense":
        candidates = _candidates(images, op_index, m, s)
        stacked = ops.stack([candidates[name]() for name in SLOTS], axis=1)  # (B, K, H, W, C)
        flat = ops.reshape(stacked, (-1,) + tuple(stacked.shape[2:]))
        return ops.take(flat, ops.arange(ops.shape(images)[0], dtype="int32") * len(SLOTS) + slot, axis=0)
    if dispatch != "partition":
        raise ValueError(f"Expected `dispatch` in {DISPATCHES}. Received: dispatch={dispatch!r}")
    k = len(SLOTS)
    positions = tf.dynamic_partition(tf.range(tf.shape(images)[0]), slot, k)
    parts = zip(*(tf.dynamic_partition(t, slot, k) for t in (images, op_index, m, s)))
    outputs = [_candidates(*part)[name]() for name, part in zip(SLOTS, parts)]
    return tf.ensure_shape(tf.dynamic_stitch(positions, outputs), images.shape)


def sample_parameters(batch_size, num_ops, magnitude, magnitude_stddev, seed):
    """`(op_index, magnitude, sign)`, each `(num_ops, batch_size)`: ops uniform over `OPS`,
    magnitudes `clip(N(magnitude, magnitude_stddev), 0, 1)`, signs +-1 with probability 1/2."""
    shape = (num_ops, batch_size)
    op_index = keras.random.randint(shape, 0, len(OPS), dtype="int32", seed=seed)
    m = ops.clip(magnitude + magnitude_stddev * keras.random.normal(shape, seed=seed), 0.0, 1.0)
    sign = ops.where(keras.random.uniform(shape, seed=seed) < 0.5, -1.0, 1.0)
    return op_index, m, sign


@keras.saving.register_keras_serializable(package="deeprob")
class BatchedRandAugment(keras.layers.Layer):
    """RandAugment with ops drawn per image and the whole batch computed at once.

    Training: `num_ops` times in a row, each image draws one op uniformly from `OPS`
    (14 ops: identity, auto-contrast, equalize, rotate, solarize, color, posterize,
    contrast, brightness, sharpness, shear x/y, translate x/y), a magnitude
    `clip(N(magnitude, magnitude_stddev), 0, 1)` and a sign; every op is computed
    for the batch and each image keeps its own (see `apply_ops`). Color is the
    identity on grayscale images. Geometric ops fill with `value_range[0]`.
    Inference: the identity. Inputs are clipped to `value_range`; the output has the
    input's dtype.

    Args:
        num_ops: int in [1, 14], the N of RandAugment.
        magnitude: float in [0, 1], the M of RandAugment as a fraction of each op's max.
        value_range: `(low, high)` of the pixel values.
        magnitude_stddev: float in [0, 1], spread of the per-image magnitude (keras-cv's 0.15).
        dispatch: `"partition"` (each image through its op only) or `"dense"` (every op on
            every image, then a gather); same output, see `apply_ops`.
        seed: optional int.

    Example:
    >>> layer = BatchedRandAugment(2, 0.5, seed=0)
    >>> ds = ds.batch(128).map(lambda x, y: (layer(x, training=True), y))
    """

    def __init__(self, num_ops=2, magnitude=0.5, value_range=(0.0, 1.0), magnitude_stddev=0.15,
                 dispatch="partition", seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_ops, bool) or not isinstance(num_ops, int) or not 1 <= num_ops <= len(OPS):
            raise ValueError(f"Expected an integer between 1 and {len(OPS)} for `num_ops`. "
                             f"Received: num_ops={num_ops}")
        check_probability(magnitude, "magnitude")
        check_probability(magnitude_stddev, "magnitude_stddev")
        if not (isinstance(value_range, (tuple, list)) and len(value_range) == 2 and value_range[0] < value_range[1]):
            raise ValueError(f"Expected `value_range` = (low, high) with low < high. Received: value_range={value_range}")
        if dispatch not in DISPATCHES:
            raise ValueError(f"Expected `dispatch` in {DISPATCHES}. Received: dispatch={dispatch!r}")
        self.num_ops, self.magnitude = num_ops, float(magnitude)
        self.magnitude_stddev = float(magnitude_stddev)
        self.value_range = tuple(float(v) for v in value_range)
        self.dispatch, self.seed = dispatch, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        low, high = self.value_range
        x = (ops.clip(ops.cast(inputs, "float32"), low, high) - low) / (high - low)
        op_index, m, sign = sample_parameters(ops.shape(x)[0], self.num_ops, self.magnitude,
                                              self.magnitude_stddev, self.seed_generator)
        for k in range(self.num_ops):
            x = apply_ops(x, op_index[k], m[k], sign[k], self.dispatch)
        x = x * (high - low) + low
        if not keras.backend.is_float_dtype(inputs.dtype):
            x = ops.round(x)
        return ops.cast(x, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_ops": self.num_ops, "magnitude": self.magnitude,
                "value_range": self.value_range, "magnitude_stddev": self.magnitude_stddev, "dispatch": self.dispatch,
                "seed": self.seed}
