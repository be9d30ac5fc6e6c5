"""`classifier_head`: the softmax classifier every model of the project ends with.

It lives among the techniques (not in `models/`) because both the model
builders and the transfer head (`transfer.feature_extraction.build_head`) use it.
"""

import keras

from deeprob_keras.layers.drop_connect import DropConnectDense


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
    # float32 whatever the global dtype policy: a softmax in bfloat16 loses the loss's precision.
    if spec.head == "dropconnect":
        return DropConnectDense(num_classes, rate=spec.head_dropconnect, activation="softmax",
                                kernel_regularizer=regularizer, name="classifier", dtype="float32")(x)
    return keras.layers.Dense(num_classes, activation="softmax", kernel_regularizer=regularizer,
                              name="classifier", dtype="float32")(x)
