"""`load_backbone`: a pretrained network cut at a layer, plus the adapter its inputs need.

Two sources:

- a project `.keras` model (e.g. `runs/pretrain_fashion_0_4/model.keras`),
  loaded with `safe_mode=True` and cut at `cut_layer` (`stage{i}`, `features`, ...);
- a `keras.applications` name (e.g. "MobileNetV3Small"), built with
  `include_top=False, pooling="avg"`; `weights` is None (random), "imagenet"
  (downloads: needs network) or the path of a weights file saved from the same
  application. `cut_layer="features"` means the pooled top output.

Small grayscale images (28x28x1) are adapted by an `ImageAdapter` in front of
the backbone: resized to the backbone's size (applications: `input_size`,
default max(32, H), since they refuse smaller inputs), repeated to 3 channels,
and scaled the way that application expects.
"""

import os

import keras

from deeprob_keras.transfer.image_adapter import ImageAdapter

# keras.applications name -> input scaling of its ImageNet weights (see image_adapter).
APPLICATIONS = {
    "MobileNetV3Small": "raw255", "MobileNetV3Large": "raw255",
    "EfficientNetB0": "raw255", "EfficientNetB1": "raw255", "EfficientNetB2": "raw255",
    "EfficientNetV2B0": "raw255", "EfficientNetV2S": "raw255", "ConvNeXtTiny": "raw255",
    "MobileNet": "tf", "MobileNetV2": "tf", "ResNet50V2": "tf", "Xception": "tf",
    "ResNet50": "caffe", "ResNet101": "caffe", "VGG16": "caffe",
    "DenseNet121": "torch",
}
MIN_APPLICATION_SIZE = 32


def _register_project_objects():
    import deeprob_keras.layers  # noqa: F401  (registers our layers for safe loading)
    import deeprob_keras.losses  # noqa: F401


def cut_model(model, cut_layer, name="pretrained", source=None):
    """`model` from its inputs to the output of layer `cut_layer` (a new functional model)."""
    names = [layer.name for layer in model.layers]
    if cut_layer not in names:
        raise ValueError(
            f"transfer.cut_layer: no layer named {cut_layer!r} in backbone {source or model.name!r}. "
            f"Available layers: {', '.join(names)}")
    return keras.Model(model.inputs, model.get_layer(cut_layer).output, name=name)


def _load_project_model(spec, input_shape):
    _register_project_objects()
    if not os.path.exists(spec.backbone):
        raise FileNotFoundError(
            f"transfer.backbone: {spec.backbone!r} does not exist. Train the source model first "
            f"(e.g. `deeprob train recipes/pretrain_fashion_0_4.yaml`)")
    if spec.weights is not None:
        raise ValueError(f"transfer.weights is for keras.applications backbones; a .keras file holds its "
                         f"own weights. Received: weights={spec.weights!r}")
    source = keras.saving.load_model(spec.backbone, safe_mode=True, compile=False)
    backbone = cut_model(source, spec.cut_layer, source=spec.backbone)
    h, w, c = source.input_shape[1:]
    if spec.input_size is not None and spec.input_size != h:
        raise ValueError(f"transfer.input_size must be None or the backbone's own size {h} for a .keras "
                         f"backbone. Received: input_size={spec.input_size}")
    adapter = None
    if tuple(input_shape) != (h, w, c):
        adapter = ImageAdapter(size=(h, w), channels=c, scaling="unit", name="adapter")
    return backbone, adapter


def _load_application(spec, input_shape):
    name = spec.backbone
    if name not in APPLICATIONS or not hasattr(keras.applications, name):
        raise ValueError(
            f"transfer.backbone: {name!r} is neither an existing .keras file nor a supported "
            f"keras.applications name. Supported: {', '.join(sorted(APPLICATIONS))}")
    size = spec.input_size or max(MIN_APPLICATION_SIZE, input_shape[0])
    if size < MIN_APPLICATION_SIZE:
        raise ValueError(f"transfer.input_size must be >= {MIN_APPLICATION_SIZE} for keras.applications. "
                         f"Received: input_size={size}")
    weights = spec.weights
    weights_file = None
    if weights not in (None, "imagenet"):
        if not os.path.exists(weights):
            raise FileNotFoundError(f"transfer.weights: file {weights!r} does not exist")
        weights, weights_file = None, spec.weights
    app = getattr(keras.applications, name)(
        include_top=False, weights=weights, input_shape=(size, size, 3), pooling="avg")
    if weights_file:
        app.load_weights(weights_file)
    if spec.cut_layer == "features":
        backbone = keras.Model(app.inputs, app.output, name="pretrained")
    else:
        backbone = cut_model(app, spec.cut_layer, source=name)
    adapter = ImageAdapter(size=(size, size), channels=3, scaling=APPLICATIONS[name], name="adapter")
    return backbone, adapter


def load_backbone(spec, input_shape):
    """Returns `(backbone, adapter)` for a `TransferSpec`.

    `backbone` is a functional model named "pretrained" from the source's
    inputs to the cut layer; `adapter` is an `ImageAdapter` to put in front of
    it (None when the target's images already fit).

    Args:
        spec: `deeprob_keras.recipe.TransferSpec` (backbone, weights, cut_layer, input_size).
        input_shape: (H, W, C) of the target's images.

    Example:
        >>> backbone, adapter = load_backbone(recipe.transfer, (28, 28, 1))
    """
    if not spec.backbone:
        raise ValueError(f"transfer.backbone must name a .keras file or a keras.applications model. "
                         f"Received: backbone={spec.backbone!r}")
    if spec.backbone.endswith(".keras") or os.path.exists(spec.backbone):
        return _load_project_model(spec, input_shape)
    return _load_application(spec, input_shape)
