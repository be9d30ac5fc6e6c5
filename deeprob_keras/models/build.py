"""`build_model`: the recipe's `model` section -> a Keras model."""

from deeprob_keras.models.small_resnet import mlp, small_resnet
from deeprob_keras.recipe.choices import MODEL_NAMES
from deeprob_keras.registry import Registry
from deeprob_keras.transfer import build_transfer_model

# model.name -> builder(recipe, input_shape, num_classes); its names must be the recipe's
# MODEL_NAMES (checked here, at import).
MODELS = Registry("model.name", {
    "small_resnet": lambda recipe, input_shape, num_classes: small_resnet(
        input_shape, num_classes, recipe.model, recipe.regularization,
        progressive_resize=recipe.training.progressive_resize_min is not None),
    "mlp": lambda recipe, input_shape, num_classes: mlp(input_shape, num_classes, recipe.model, recipe.regularization),
    "backbone": build_transfer_model,
}, declared=MODEL_NAMES)


def build_model(recipe, input_shape, num_classes):
    """Builds the model named by `recipe.model.name` (probabilities out); see `MODELS`."""
    return MODELS[recipe.model.name](recipe, input_shape, num_classes)
