"""`classifier_head`: the softmax classifier every model of the project ends with.

It lives among the techniques (not in `models/`) because both the model
builders and the transfer head (`transfer.feature_extraction.build_head`) use it.
"""

import keras

from deeprob_keras.layers.drop_connect import DropConnectDense
from deeprob_keras.registry import Registry

# model.head -> builder(num_classes, spec, regularizer) of the softmax classifier layer; float32
# whatever the global dtype policy (a softmax in bfloat16 loses the loss's precision).
# The recipe's choices come from here.
HEADS = Registry("model.head", {
    "dense": lambda num_classes, spec, regularizer: keras.layers.Dense(
        num_classes, activation="softmax", kernel_regularizer=regularizer, name="classifier", dtype="float32"),
    "dropconnect": lambda num_classes, spec, regularizer: DropConnectDense(
        num_classes, rate=spec.head_dropconnect, activation="softmax", kernel_regularizer=regularizer,
        name="classifier", dtype="float32"),
})


def classifier_head(x, num_classes, spec, regularizer):
    """Dropout (inverted) then a Dense or DropConnectDense softmax classifier.

    Args:
        x: a (batch, features) tensor.
        num_classes: number of softmax outputs.
        spec: an object with `head_dropout`, `head` ("dense" or "dropconnect")
            and `head_dropconnect` (a recipe's `model` section).
        regularizer: the kernel regularizer, or None.

    Example:
        >>> outputs = classifier_head(features, 10, recipe.model, None)
    """
    if spec.head_dropout > 0:
        x = keras.layers.Dropout(spec.head_dropout, name="head_dropout")(x)
    return HEADS[spec.head](num_classes, spec, regularizer)(x)
