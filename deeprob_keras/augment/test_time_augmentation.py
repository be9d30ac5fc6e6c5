"""Test-time augmentation: average a model's predicted probabilities over views."""

import keras
from keras import ops

MODES = ("flip", "ten_crop", "scales", "flip_translate", "flip_cross", "multi_scale_crops")


def shift_images(images, dy, dx):
    """Shifts a batch `(B, H, W, C)` by `dy` rows and `dx` columns, filling with zeros.

    `out[:, i, j] = images[:, i - dy, j - dx]` where that pixel exists, else 0.
    """
    height, width = images.shape[1], images.shape[2]
    t = max(abs(dy), abs(dx))
    if t == 0:
        return images
    padded = ops.pad(images, [[0, 0], [t, t], [t, t], [0, 0]])
    return padded[:, t - dy:t - dy + height, t - dx:t - dx + width, :]


def multi_scale_crop_views(images, scales):
    """The lecture's multi-scale test-time views: 10 crops at the input size per scale.

    For each `s` in `scales` the batch is resized (bilinear) so that its short
    side is `s` (`s x s` for square images), then the 4 corner and the centre
    `H x W` crops (centre start `((H_s - H) // 2, (W_s - W) // 2)`) and their
    horizontal flips are taken: `10 * len(scales)` views, each `H x W`, the
    network's input size. `s` must be >= the short side of the input.
    """
    height, width = images.shape[1], images.shape[2]
    short = min(height, width)
    views = []
    for s in scales:
        if s < short:
            raise ValueError(f"Expected every scale >= the image's short side {short} (the crops are taken at "
                             f"the input size {height}x{width}). Received: scales={list(scales)}")
        sh, sw = round(height * s / short), round(width * s / short)
        resized = images if (sh, sw) == (height, width) else ops.image.resize(images, (sh, sw))
        starts = [(0, 0), (0, sw - width), (sh - height, 0), (sh - height, sw - width),
                  ((sh - height) // 2, (sw - width) // 2)]
        crops = [resized[:, y:y + height, x:x + width, :] for y, x in starts]
        views += crops + [ops.flip(crop, axis=2) for crop in crops]
    return views


def tta_views(images, mode, crop_size=None, scales=None, translate=1):
    """The list of views of a batch `(B, H, W, C)`, each of the input's size.

    flip: identity, horizontal flip. ten_crop: the 4 corner and the centre
    `crop_size` crops, each resized back to `H x W` (bilinear), and their flips.
    scales: the batch resized to `s x s` and back to `H x W` for each `s`.
    flip_translate: the image and its flip, each as is and shifted by
    `(+translate, +translate)` and `(-translate, -translate)` pixels (6 views;
    the test-time views of a model trained with flips and translations).
    flip_cross: the image and its flip, each as is and shifted by `translate`
    pixels up, down, left and right (10 views).
    multi_scale_crops: see `multi_scale_crop_views` (10 views per scale).
    """
    height, width = images.shape[1], images.shape[2]
    if mode == "flip":
        return [images, ops.flip(images, axis=2)]
    if mode == "flip_translate":
        t = translate
        return [shift_images(base, d, d) for base in (images, ops.flip(images, axis=2)) for d in (0, t, -t)]
    if mode == "flip_cross":
        t = translate
        shifts = ((0, 0), (t, 0), (-t, 0), (0, t), (0, -t))
        return [shift_images(base, dy, dx) for base in (images, ops.flip(images, axis=2)) for dy, dx in shifts]
    if mode == "ten_crop":
        c = crop_size
        starts = [(0, 0), (0, width - c), (height - c, 0), (height - c, width - c),
                  ((height - c) // 2, (width - c) // 2)]
        crops = [ops.image.resize(images[:, y:y + c, x:x + c, :], (height, width)) for y, x in starts]
        return crops + [ops.flip(crop, axis=2) for crop in crops]
    if mode == "multi_scale_crops":
        return multi_scale_crop_views(images, scales)
    return [ops.image.resize(ops.image.resize(images, (s, s)), (height, width)) for s in scales]


@keras.saving.register_keras_serializable(package="deeprob")
class TestTimeAugmentation(keras.Model):
    """Wraps a classifier; its call averages the predicted probabilities over views.

    `p(x) = 1/V sum_v model(view_v(x))` with the views of `tta_views`: `"flip"` (2
    views), `"ten_crop"` (AlexNet's 10 crops of `crop_size`, resized back to the
    input size), `"scales"` (resize to each of `scales` and back), `"flip_translate"`
    (6 views: diagonal shifts), `"flip_cross"` (10 views: shifts up, down, left, right)
    or `"multi_scale_crops"` (the lecture's: resize to each of `scales`, then
    the 4 corner + centre crops at the input size and their flips, 10 views per
    scale; every scale >= the input's short side). The wrapped
    model always runs with `training=False`. Saves / loads through `.keras` and
    exports through `tf.saved_model.save` of a `tf.Module` with a signature.

    Args:
        model: a Keras model mapping `(B, H, W, C)` images to class probabilities
            (or logits with `from_logits=True`: softmax is applied before averaging).
        mode: `"flip"`, `"ten_crop"`, `"scales"`, `"flip_translate"`, `"flip_cross"` or
            `"multi_scale_crops"`.
        crop_size: int >= 1, crop side for `"ten_crop"` (must be <= the image side).
        scales: list of ints >= 1 for `"scales"` and `"multi_scale_crops"` (there each
            >= the image's short side, checked when called).
        translate: int >= 1, the shift of `"flip_translate"` (diagonal) and
            `"flip_cross"` (along each axis). Defaults to 1.
        from_logits: bool.

    Example:
    >>> tta = TestTimeAugmentation(model, mode="ten_crop", crop_size=24)
    >>> probs = tta.predict(test_images)
    """

    __test__ = False  # not a pytest test class despite its name

    def __init__(self, model, mode="flip", crop_size=None, scales=None, from_logits=False, translate=1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(model, keras.Model):
            raise ValueError(f"Expected a keras.Model for `model`. Received: model={model!r}")
        if mode not in MODES:
            raise ValueError(f"Expected `mode` in {MODES}. Received: mode={mode!r}")
        if mode == "ten_crop" and (isinstance(crop_size, bool) or not isinstance(crop_size, int) or crop_size < 1):
            raise ValueError(f"Expected an integer >= 1 for `crop_size` with mode='ten_crop'. Received: crop_size={crop_size}")
        if mode in ("scales", "multi_scale_crops"):
            if not scales or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in scales):
                raise ValueError(f"Expected a non-empty list of integers >= 1 for `scales`. Received: scales={scales}")
            scales = list(scales)
        if isinstance(translate, bool) or not isinstance(translate, int) or translate < 1:
            raise ValueError(f"Expected an integer >= 1 for `translate`. Received: translate={translate}")
        if not isinstance(from_logits, bool):
            raise ValueError(f"Expected a bool for `from_logits`. Received: from_logits={from_logits}")
        self.base_model = model
        self.mode, self.crop_size, self.scales, self.from_logits = mode, crop_size, scales, from_logits
        self.translate = translate

    def call(self, inputs, training=False):
        if self.mode == "ten_crop" and self.crop_size > min(inputs.shape[1], inputs.shape[2]):
            raise ValueError(f"Expected `crop_size` <= the image side {inputs.shape[1:3]}. "
                             f"Received: crop_size={self.crop_size}")
        if self.mode in ("flip_translate", "flip_cross") and self.translate >= min(inputs.shape[1], inputs.shape[2]):
            raise ValueError(f"Expected `translate` < the image side {inputs.shape[1:3]}. "
                             f"Received: translate={self.translate}")
        views = tta_views(inputs, self.mode, self.crop_size, self.scales, self.translate)
        probs = []
        for view in views:
            out = self.base_model(view, training=False)
            probs.append(ops.softmax(out, axis=-1) if self.from_logits else out)
        return ops.mean(ops.stack(probs, axis=0), axis=0)

    def compute_output_shape(self, input_shape):
        return self.base_model.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "model": keras.saving.serialize_keras_object(self.base_model),
                "mode": self.mode, "crop_size": self.crop_size, "scales": self.scales,
                "from_logits": self.from_logits, "translate": self.translate}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["model"] = keras.saving.deserialize_keras_object(config["model"])
        return cls(**config)
