"""`build_transfer_model`: images -> [adapter] -> backbone (frozen or partly trainable) -> new head."""

import keras

from deeprob_keras.transfer.backbones import load_backbone
from deeprob_keras.transfer.feature_extraction import build_head, freeze_backbone
from deeprob_keras.transfer.fine_tuning import set_fine_tune_layers
from deeprob_keras.transfer.inference_mode import InferenceMode


def get_backbone(model):
    """The pretrained part (a functional model) of a transfer model."""
    return model.get_layer("backbone").layer


def copy_weights(model, path):
    """Loads the weights of the `.keras` model at `path` (same architecture) into `model`."""
    from deeprob_keras.transfer.backbones import _register_project_objects

    _register_project_objects()
    source = keras.saving.load_model(path, safe_mode=True, compile=False)
    try:
        model.set_weights(source.get_weights())
    except ValueError as e:
        raise ValueError(f"transfer.initial_model: {path!r} does not have this model's architecture ({e})") from None
    return model


def build_transfer_model(recipe, input_shape, num_classes, mode=None):
    """Builds the transfer model of `recipe.transfer` (probabilities out).

    Layers: `images` -> `adapter` (when the images do not fit the backbone) ->
    `backbone` (an `InferenceMode` wrapper around the cut pretrained model when
    `bn_inference`) -> `features` (pooling, for 4-D cuts) -> [`head_hidden`] ->
    `classifier` with `num_classes` outputs.

    mode "feature_extraction" and "two_phase" (its first phase) freeze the whole
    backbone; "fine_tune" unfreezes its top (`freeze_fraction` / `freeze_until`).
    `initial_model`, when set, provides every weight (head included).

    Args:
        recipe: a `Recipe` with model.name "backbone" and a `transfer` section.
        input_shape: (H, W, C) of the target's images.
        num_classes: classes of the target (>= 2).
        mode: overrides `recipe.transfer.mode`.

    Example:
        >>> model = build_transfer_model(recipe, (28, 28, 1), num_classes=5)
    """
    spec = recipe.transfer
    if spec is None:
        raise ValueError("build_transfer_model needs the recipe's transfer section. Received: transfer=None")
    if num_classes < 2:
        raise ValueError(f"the target needs at least 2 classes. Received: num_classes={num_classes}")
    mode = mode or spec.mode
    backbone, adapter = load_backbone(spec, input_shape)
    if mode == "fine_tune":
        set_fine_tune_layers(backbone, spec.freeze_fraction, spec.freeze_until)
    else:
        freeze_backbone(backbone)
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = adapter(inputs) if adapter is not None else inputs
    x = InferenceMode(backbone, enabled=spec.bn_inference, name="backbone")(x)
    outputs = build_head(x, num_classes, recipe)
    model = keras.Model(inputs, outputs, name="transfer")
    if spec.initial_model:
        copy_weights(model, spec.initial_model)
    return model
