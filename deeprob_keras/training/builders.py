"""One `build_*` per recipe concern that has no module of its own: optimizer and loss."""

import keras

from deeprob_keras.recipe.choices import OPTIMIZER_NAMES
from deeprob_keras.registry import Registry

# optimizer.name -> builder(spec, learning rate or schedule, common keyword arguments); its names must be
# the recipe's OPTIMIZER_NAMES (checked here, at import).
OPTIMIZERS = Registry("optimizer.name", {
    "sgd": lambda spec, lr, common: keras.optimizers.SGD(
        learning_rate=lr, momentum=spec.momentum, nesterov=spec.nesterov, **common),
    "adam": lambda spec, lr, common: keras.optimizers.Adam(learning_rate=lr, **common),
    "adamw": lambda spec, lr, common: keras.optimizers.AdamW(learning_rate=lr, **common),
    "rmsprop": lambda spec, lr, common: keras.optimizers.RMSprop(
        learning_rate=lr, momentum=spec.momentum, **common),
    "adagrad": lambda spec, lr, common: keras.optimizers.Adagrad(learning_rate=lr, **common),
}, declared=OPTIMIZER_NAMES)

NORMALIZATION_LAYERS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization,
                        keras.layers.GroupNormalization)


def no_decay_variables(model):
    """The variables that decoupled weight decay leaves alone: biases and normalization parameters.

    Every variable of a BatchNormalization / LayerNormalization / GroupNormalization
    layer (gamma, beta) and every variable named `bias`; kernels (and embeddings) decay.
    """
    chosen = {}
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for v in layer.trainable_variables if isinstance(layer, NORMALIZATION_LAYERS) else ():
            chosen[id(v)] = v
    for v in model.trainable_variables:
        if v.name == "bias" or v.path.rsplit("/", 1)[-1] == "bias":
            chosen[id(v)] = v
    return list(chosen.values())


def build_optimizer(spec, learning_rate, model=None):
    """The recipe's optimizer; `learning_rate` is a float or a schedule.

    `weight_decay` is Keras's decoupled weight decay (applied by the optimizer,
    not added to the loss: `w <- w - lr * weight_decay * w` each step). Given
    `model`, biases and normalization parameters are excluded from it
    (`no_decay_variables`) unless `spec.decay_all_parameters`; `use_ema` turns on Keras's built-in EMA of the
    weights (see `deeprob_keras.callbacks` for how it is evaluated and exported).
    """
    common = {"use_ema": spec.use_ema, "ema_momentum": spec.ema_momentum}
    if spec.weight_decay > 0:
        common["weight_decay"] = spec.weight_decay
    if spec.clipnorm is not None:
        common["clipnorm"] = spec.clipnorm
    optimizer = OPTIMIZERS[spec.name](spec, learning_rate, common)
    if spec.weight_decay > 0 and model is not None and not spec.decay_all_parameters:
        optimizer.exclude_from_weight_decay(var_list=no_decay_variables(model))
    return optimizer


def build_loss(regularization, num_classes, soft_labels):
    """Cross-entropy on probabilities; label smoothing works for sparse and soft targets."""
    if regularization.label_smoothing > 0:
        from deeprob_keras.losses import SmoothedCrossentropy

        return SmoothedCrossentropy(epsilon=regularization.label_smoothing, num_classes=num_classes)
    if soft_labels:
        return keras.losses.CategoricalCrossentropy()
    return keras.losses.SparseCategoricalCrossentropy()
