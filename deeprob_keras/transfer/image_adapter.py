"""`ImageAdapter`: bring the target's images to what a backbone expects.

Our data pipelines give float32 images in [0, 1]. A backbone may want another
size (keras.applications need at least 32x32), three channels (grayscale is
repeated) and its own input scaling:

- "unit": [0, 1] unchanged (our own .keras backbones);
- "raw255": x * 255 (applications with built-in preprocessing: MobileNetV3,
  EfficientNet, EfficientNetV2, ConvNeXt);
- "tf": x * 2 - 1 (MobileNet, MobileNetV2, ResNetV2, Xception);
- "caffe": x * 255, RGB -> BGR, minus the ImageNet BGR means (ResNet, VGG);
- "torch": (x - ImageNet mean) / ImageNet std (DenseNet).
"""

import keras
from keras import ops

SCALINGS = ("unit", "raw255", "tf", "caffe", "torch")
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def adapt_images(x, size=None, channels=None, scaling="unit"):
    """Resizes to `size` (H, W), converts to `channels` (1 or 3) and rescales [0, 1] images."""
    if size is not None and tuple(x.shape[1:3]) != tuple(size):
        x = ops.image.resize(x, tuple(size), interpolation="bilinear")
    if channels == 3 and x.shape[-1] == 1:
        x = ops.repeat(x, 3, axis=-1)
    elif channels == 1 and x.shape[-1] == 3:
        x = ops.mean(x, axis=-1, keepdims=True)
    if scaling == "raw255":
        x = x * 255.0
    elif scaling == "tf":
        x = x * 2.0 - 1.0
    elif scaling == "caffe":
        x = x[..., ::-1] * 255.0 - ops.convert_to_tensor(_CAFFE_MEAN_BGR, dtype=x.dtype)
    elif scaling == "torch":
        x = (x - ops.convert_to_tensor(_TORCH_MEAN, dtype=x.dtype)) / ops.convert_to_tensor(_TORCH_STD, dtype=x.dtype)
    return x


@keras.saving.register_keras_serializable(package="deeprob")
class ImageAdapter(keras.layers.Layer):
    """Resize, re-channel and rescale [0, 1] images for a backbone (see `adapt_images`).

    Deterministic: the same in training and at inference.

    Args:
        size: (height, width) or None (keep).
        channels: 1, 3 or None (keep).
        scaling: one of "unit", "raw255", "tf", "caffe", "torch".

    Example:
        >>> x = ImageAdapter(size=(32, 32), channels=3, scaling="raw255")(inputs)
    """

    def __init__(self, size=None, channels=None, scaling="unit", **kwargs):
        super().__init__(**kwargs)
        if size is not None and (len(size) != 2 or min(size) < 1):
            raise ValueError(f"Expected size to be None or (height, width) >= 1. Received: size={size!r}")
        if channels not in (None, 1, 3):
            raise ValueError(f"Expected channels to be None, 1 or 3. Received: channels={channels!r}")
        if scaling not in SCALINGS:
            raise ValueError(f"Expected scaling to be one of {list(SCALINGS)}. Received: scaling={scaling!r}")
        if scaling in ("caffe", "torch") and channels != 3:
            raise ValueError(f"scaling={scaling!r} needs channels=3. Received: channels={channels!r}")
        self.size = tuple(size) if size is not None else None
        self.channels = channels
        self.scaling = scaling

    def call(self, inputs):
        return adapt_images(inputs, self.size, self.channels, self.scaling)

    def compute_output_shape(self, input_shape):
        h, w = self.size if self.size is not None else input_shape[1:3]
        return (input_shape[0], h, w, self.channels or input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size, "channels": self.channels, "scaling": self.scaling}
