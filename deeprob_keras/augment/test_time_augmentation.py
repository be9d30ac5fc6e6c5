"""Test-time augmentation: average a model's predicted probabilities over views."""

import keras
from keras import ops

MODES = ("flip", "ten_crop", "scales")


def tta_views(images, mode, crop_size=None, scales=None):
    """The list of views of a batch `(B, H, W, C)`, each of the input's size.

    flip: identity, horizontal flip. ten_crop: the 4 corner and the centre
    `crop_size` crops, each resized back to `H x W` (bilinear), and their flips.
    scales: the batch resized to `s x s` and back to `H x W` for each `s`.
    """
    height, width = images.shape[1], images.shape[2]
    if mode == "flip":
        return [images, ops.flip(images, axis=2)]
    if mode == "ten_crop":
        c = crop_size
        starts = [(0, 0), (0, width - c), (height - c, 0), (height - c, width - c),
                  ((height - c) // 2, (width - c) // 2)]
        crops = [ops.image.resize(images[:, y:y + c, x:x + c, :], (height, width)) for y, x in starts]
        return crops + [ops.flip(crop, axis=2) for crop in crops]
    return [ops.image.resize(ops.image.resize(images, (s, s)), (height, width)) for s in scales]


@keras.saving.register_keras_serializable(package="deeprob")
class TestTimeAugmentation(keras.Model):
    """Wraps a classifier; its call averages the predicted probabilities over views.

    `p(x) = 1/V sum_v model(view_v(x))` with the views of `tta_views`: `"flip"` (2
    views), `"ten_crop"` (AlexNet's 10 crops of `crop_size`, resized back to the
    input size) or `"scales"` (resize to each of `scales` and back). The wrapped
    model always runs with `training=False`. Saves / loads through `.keras` and
    exports through `tf.saved_model.save` of a `tf.Module` with a signature.

    Args:
        model: a Keras model mapping `(B, H, W, C)` images to class probabilities
            (or logits with `from_logits=True`: softmax is applied before averaging).
        mode: `"flip"`, `"ten_crop"` or `"scales"`.
        crop_size: int >= 1, crop side for `"ten_crop"` (must be <= the image side).
        scales: list of ints >= 1 for `"scales"`.
        from_logits: bool.

    Example:
    >>> tta = TestTimeAugmentation(model, mode="ten_crop", crop_size=24)
    >>> probs = tta.predict(test_images)
    """

    __test__ = False  # not a pytest test class despite its name

    def __init__(self, model, mode="flip", crop_size=None, scales=None, from_logits=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(model, keras.Model):
            raise ValueError(f"Expected a keras.Model for `model`. Received: model={model!r}")
        if mode not in MODES:
            raise ValueError(f"Expected `mode` in {MODES}. Received: mode={mode!r}")
        if mode == "ten_crop" and (isinstance(crop_size, bool) or not isinstance(crop_size, int) or crop_size < 1):
            raise ValueError(f"Expected an integer >= 1 for `crop_size` with mode='ten_crop'. Received: crop_size={crop_size}")
        if mode == "scales":
            if not scales or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in scales):
                raise ValueError(f"Expected a non-empty list of integers >= 1 for `scales`. Received: scales={scales}")
            scales = list(scales)
        if not isinstance(from_logits, bool):
            raise ValueError(f"Expected a bool for `from_logits`. Received: from_logits={from_logits}")
        self.base_model = model
        self.mode, self.crop_size, self.scales, self.from_logits = mode, crop_size, scales, from_logits

    def call(self, inputs, training=False):
        if self.mode == "ten_crop" and self.crop_size > min(inputs.shape[1], inputs.shape[2]):
            raise ValueError(f"Expected `crop_size` <= the image side {inputs.shape[1:3]}. "
                             f"Received: crop_size={self.crop_size}")
        views = tta_views(inputs, self.mode, self.crop_size, self.scales)
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
                "from_logits": self.from_logits}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["model"] = keras.saving.deserialize_keras_object(config["model"])
        return cls(**config)
