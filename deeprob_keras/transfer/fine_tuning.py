"""Fine-tuning: unfreeze the top of the backbone, train it at a smaller learning rate.

The lecture: with more data, fine-tune the top layers (similar data: a few;
different data: a larger number), at about 1/10 of the original learning rate.
BatchNorm stays in inference mode (`InferenceMode` wrapper, `transfer.bn_inference`).
"""

import math


def weighted_layers(backbone):
    """The backbone's layers that hold weights, bottom to top."""
    return [layer for layer in backbone.layers if layer.weights]


def frozen_count(num_layers, freeze_fraction):
    """round(freeze_fraction x num_layers): how many weighted layers stay frozen."""
    if not 0.0 <= freeze_fraction <= 1.0:
        raise ValueError(f"Expected freeze_fraction between 0 and 1. Received: freeze_fraction={freeze_fraction}")
    return int(math.floor(freeze_fraction * num_layers + 0.5))


def set_fine_tune_layers(backbone, freeze_fraction=None, freeze_until=None):
    """Makes the top of `backbone` trainable and keeps the bottom frozen.

    Args:
        backbone: a functional `keras.Model`.
        freeze_fraction: float in [0, 1]: share of the weighted layers, from the
            bottom, kept frozen (0 = fine-tune everything, 1 = nothing).
        freeze_until: name of a layer: it and every layer before it stay frozen
            (e.g. "stage1": only stage2 and above are fine-tuned).
        Neither given: every layer is trainable.

    Returns:
        (frozen layer names, trainable layer names), weighted layers only.

    Example:
        >>> set_fine_tune_layers(backbone, freeze_until="stage1")
    """
    if freeze_fraction is not None and freeze_until is not None:
        raise ValueError("give freeze_fraction or freeze_until, not both. "
                         f"Received: freeze_fraction={freeze_fraction}, freeze_until={freeze_until!r}")
    layers = list(backbone.layers)
    backbone.trainable = True
    cut = 0  # layers[:cut] are frozen
    if freeze_until is not None:
        names = [layer.name for layer in layers]
        if freeze_until not in names:
            raise ValueError(f"transfer.freeze_until: no layer named {freeze_until!r} in the backbone. "
                             f"Available layers: {', '.join(names)}")
        cut = names.index(freeze_until) + 1
    elif freeze_fraction is not None:
        weighted = weighted_layers(backbone)
        n = frozen_count(len(weighted), freeze_fraction)
        cut = layers.index(weighted[n - 1]) + 1 if n else 0
    for i, layer in enumerate(layers):
        layer.trainable = i >= cut
    frozen = [layer.name for layer in weighted_layers(backbone) if not layer.trainable]
    trainable = [layer.name for layer in weighted_layers(backbone) if layer.trainable]
    return frozen, trainable


def transfer_learning_rate(recipe):
    """The peak learning rate of a run: lr_factor x optimizer.learning_rate when fine-tuning.

    Feature extraction (and any non-transfer recipe) trains at optimizer.learning_rate.
    """
    lr = recipe.optimizer.learning_rate
    if recipe.model.name == "backbone" and recipe.transfer is not None and recipe.transfer.mode == "fine_tune":
        return lr * recipe.transfer.lr_factor
    return lr
