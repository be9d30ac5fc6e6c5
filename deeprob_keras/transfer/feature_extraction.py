"""Feature extraction: a frozen backbone and a new, randomly initialized head.

The lecture's "small dataset, similar to the source": freeze the whole
pretrained network (`trainable=False`: its weights get no gradients, and a
frozen BatchNorm runs in inference mode) and train only a new classifier on
its features (a linear head, or a small MLP with `head_hidden` units).
"""

import keras

from deeprob_keras.layers import kernel_regularizer
from deeprob_keras.layers.heads import classifier_head


def freeze_backbone(backbone):
    """Freezes every layer of `backbone`; returns it."""
    backbone.trainable = False
    return backbone


def build_head(features, num_classes, recipe):
    """New head on `features`: global average pooling (4-D features), optional hidden ReLU layer, classifier.

    The classifier is the recipe's (`model.head`, `model.head_dropout`, the
    recipe's kernel penalty), with `num_classes` softmax outputs.
    """
    if num_classes < 2:
        raise ValueError(f"the target needs at least 2 classes. Received: num_classes={num_classes}")
    reg = recipe.regularization
    regularizer = kernel_regularizer(reg.penalty, reg.l1, reg.l2)
    x = features
    if len(x.shape) == 4:
        x = keras.layers.GlobalAveragePooling2D(name="features")(x)
    elif len(x.shape) != 2:
        raise ValueError(f"the cut layer must give (batch, features) or (batch, H, W, C) outputs. "
                         f"Received shape: {tuple(x.shape)}")
    hidden = recipe.transfer.head_hidden if recipe.transfer is not None else 0
    if hidden:
        x = keras.layers.Dense(hidden, activation="relu", kernel_initializer="he_normal",
                               kernel_regularizer=regularizer, name="head_hidden")(x)
    return classifier_head(x, num_classes, recipe.model, regularizer)
