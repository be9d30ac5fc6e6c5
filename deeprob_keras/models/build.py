"""`build_model`: the recipe's `model` section -> a Keras model."""

from deeprob_keras.models.small_resnet import mlp, small_resnet
from deeprob_keras.transfer import build_transfer_model


def build_model(recipe, input_shape, num_classes):
    """Builds the model named by `recipe.model.name` (probabilities out)."""
    spec = recipe.model
    if spec.name == "small_resnet":
        return small_resnet(input_shape, num_classes, spec, recipe.regularization)
    if spec.name == "mlp":
        return mlp(input_shape, num_classes, spec, recipe.regularization)
    if spec.name == "backbone":
        return build_transfer_model(recipe, input_shape, num_classes)
    raise ValueError(f"model.name: unknown model {spec.name!r}")
