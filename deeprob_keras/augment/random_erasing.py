"""Random Erasing (Zhong et al., 2020), batched: one rectangle per image."""

import math

import keras
from keras import ops

from deeprob_keras.augment._sampling import check_probability
from deeprob_keras.augment.cutmix import box_mask

FILLS = ("zero", "mean", "random")


def sample_erasing_boxes(shape, area, aspect, seed):
    """Per image a box `(y0, x0, y1, x1)` of area `s H W`, `s ~ U(area)`, aspect `r`.

    `log r ~ U(log aspect[0], log aspect[1])`, height `sqrt(s H W r)`, width
    `sqrt(s H W / r)`, each clipped to the image (instead of the paper's retry loop),
    position uniform among the positions where the box fits.
    """
    batch, height, width = shape[0], shape[1], shape[2]
    h_img, w_img = ops.cast(height, "float32"), ops.cast(width, "float32")
    target = keras.random.uniform((batch,), area[0], area[1], seed=seed) * h_img * w_img
    log_r = keras.random.uniform((batch,), math.log(aspect[0]), math.log(aspect[1]), seed=seed)
    r = ops.exp(log_r)
    h = ops.clip(ops.round(ops.sqrt(target * r)), 1.0, h_img)
    w = ops.clip(ops.round(ops.sqrt(target / r)), 1.0, w_img)
    y0 = ops.floor(keras.random.uniform((batch,), 0.0, 1.0, seed=seed) * (h_img - h + 1.0))
    x0 = ops.floor(keras.random.uniform((batch,), 0.0, 1.0, seed=seed) * (w_img - w + 1.0))
    y0, x0 = ops.minimum(y0, h_img - h), ops.minimum(x0, w_img - w)
    return ops.cast(ops.stack([y0, x0, y0 + h, x0 + w], axis=1), "int32")


def erase(images, box, apply, fill_values):
    """Replaces `box[i]` of image `i` by `fill_values` where `apply[i]` is True.

    Args:
        images: `(B, H, W, C)`.
        box: int `(B, 4)` of `(y0, x0, y1, x1)`, end exclusive.
        apply: bool `(B,)`.
        fill_values: broadcastable to `images` (`(B, 1, 1, C)` or `(B, H, W, C)`).
    """
    images = ops.convert_to_tensor(images)
    mask = box_mask(ops.shape(images), box) & ops.reshape(apply, (-1, 1, 1, 1))
    return ops.where(mask, ops.cast(fill_values, images.dtype), images)


@keras.saving.register_keras_serializable(package="deeprob")
class RandomErasing(keras.layers.Layer):
    """Erases one random rectangle per image with probability `probability`.

    For each image, with probability `p`: area fraction `s ~ U(area)`, aspect
    `r ~ logU(aspect)`, a box of `sqrt(s H W r) x sqrt(s H W / r)` pixels (clipped to
    the image) at a uniform position is filled with zeros, the image's per-channel
    mean, or uniform noise in `value_range`. Batched: masks are built by broadcasted
    comparisons, no per-image loop. Identity when `training=False`.

    Keras core `RandomErasing` is not reused: it samples the probability itself
    from `U(0, factor)`, draws height and width fractions independently (no aspect
    control) and has no mean fill.

    Args:
        probability: float in [0, 1], chance that an image is erased (0.5 in the paper).
        area: `(min, max)` area fractions, `0 < min <= max <= 1`.
        aspect: `(min, max)` height/width ratios, `0 < min <= max`.
        fill: `"zero"`, `"mean"` or `"random"`.
        value_range: `(low, high)` of the pixel values (for `"random"`).
        seed: optional int.

    Example:
    >>> layer = RandomErasing(0.5, fill="random", seed=0)
    >>> ds = ds.map(lambda x, y: (layer(x, training=True), y))
    """

    def __init__(self, probability=0.5, area=(0.02, 0.4), aspect=(0.3, 3.3), fill="zero",
                 value_range=(0.0, 1.0), seed=None, **kwargs):
        super().__init__(**kwargs)
        check_probability(probability, "probability")
        area = tuple(float(a) for a in area) if isinstance(area, (tuple, list)) else area
        if not (isinstance(area, tuple) and len(area) == 2 and 0.0 < area[0] <= area[1] <= 1.0):
            raise ValueError(f"Expected `area` = (min, max) with 0 < min <= max <= 1. Received: area={area}")
        aspect = tuple(float(a) for a in aspect) if isinstance(aspect, (tuple, list)) else aspect
        if not (isinstance(aspect, tuple) and len(aspect) == 2 and 0.0 < aspect[0] <= aspect[1]):
            raise ValueError(f"Expected `aspect` = (min, max) with 0 < min <= max. Received: aspect={aspect}")
        if fill not in FILLS:
            raise ValueError(f"Expected `fill` to be one of {FILLS}. Received: fill={fill!r}")
        if not (isinstance(value_range, (tuple, list)) and len(value_range) == 2
                and value_range[0] < value_range[1]):
            raise ValueError(f"Expected `value_range` = (low, high) with low < high. Received: value_range={value_range}")
        self.probability = float(probability)
        self.area, self.aspect, self.fill = area, aspect, fill
        self.value_range = tuple(float(v) for v in value_range)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def fill_values(self, images):
        shape = ops.shape(images)
        if self.fill == "zero":
            return ops.zeros((shape[0], 1, 1, shape[3]), images.dtype)
        if self.fill == "mean":
            return ops.mean(images, axis=(1, 2), keepdims=True)
        low, high = self.value_range
        return keras.random.uniform(shape, low, high, dtype=images.dtype, seed=self.seed_generator)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        shape = ops.shape(inputs)
        box = sample_erasing_boxes(shape, self.area, self.aspect, self.seed_generator)
        apply = keras.random.uniform((shape[0],), seed=self.seed_generator) < self.probability
        return erase(inputs, box, apply, self.fill_values(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "probability": self.probability, "area": self.area,
                "aspect": self.aspect, "fill": self.fill, "value_range": self.value_range,
                "seed": self.seed}
