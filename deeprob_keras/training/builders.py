"""One `build_*` per recipe concern that has no module of its own: optimizer and loss."""

import keras

OPTIMIZERS = {
    "sgd": lambda spec, lr, common: keras.optimizers.SGD(
        learning_rate=lr, momentum=spec.momentum, nesterov=spec.nesterov, **common),
    "adam": lambda spec, lr, common: keras.optimizers.Adam(learning_rate=lr, **common),
    "adamw": lambda spec, lr, common: keras.optimizers.AdamW(learning_rate=lr, **common),
    "rmsprop": lambda spec, lr, common: keras.optimizers.RMSprop(
        learning_rate=lr, momentum=spec.momentum, **common),
}


def build_optimizer(spec, learning_rate):
    """The recipe's optimizer; `learning_rate` is a float or a schedule.

    `weight_decay` is Keras's decoupled weight decay (applied by the optimizer,
    not added to the loss); `use_ema` turns on Keras's built-in EMA of the
    weights (see `deeprob_keras.callbacks` for how it is evaluated and exported).
    """
    common = {"use_ema": spec.use_ema, "ema_momentum": spec.ema_momentum}
    if spec.weight_decay > 0:
        common["weight_decay"] = spec.weight_decay
    if spec.clipnorm is not None:
        common["clipnorm"] = spec.clipnorm
    return OPTIMIZERS[spec.name](spec, learning_rate, common)


def build_loss(regularization, num_classes, soft_labels):
    """Cross-entropy on probabilities; label smoothing works for sparse and soft targets."""
    if regularization.label_smoothing > 0:
        from deeprob_keras.losses import SmoothedCrossentropy

        return SmoothedCrossentropy(epsilon=regularization.label_smoothing, num_classes=num_classes)
    if soft_labels:
        return keras.losses.CategoricalCrossentropy()
    return keras.losses.SparseCategoricalCrossentropy()
