"""Recompute BatchNorm statistics for the weights a model ends with.

EMA (Polyak) averaging averages the trainable weights only; the BatchNorm
moving statistics still describe the activations of the *raw* weights. Before
evaluating or exporting averaged weights, the statistics are recomputed: the
model runs forward over training batches and every BatchNorm layer's moving
mean and variance become the plain average of the batch statistics (a
cumulative average, momentum i/(i+1) at batch i), as SWA does for averaged
weights (Izmailov et al., 2018). No weight is changed.

Only the BatchNorm layers run in training mode: the model is called with
`training=False`, so Dropout, DropConnect, stochastic depth and the like are
the identity (the network that will be evaluated), while every BatchNorm layer
normalizes with the batch statistics and updates its moving averages.
"""

import functools

import keras


def _batchnorm_layers(model):
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.BatchNormalization)]


def _in_training_mode(call):
    @functools.wraps(call)
    def wrapped(*args, training=None, **kwargs):
        return call(*args, training=True, **kwargs)

    return wrapped


def recalibrate_batchnorm(model, dataset, num_batches=50):
    """Sets every BatchNorm layer's moving statistics to the average over `num_batches`.

    The model runs in inference mode (Dropout, DropConnect, stochastic depth
    off); only its BatchNorm layers use batch statistics.

    Args:
        model: a Keras model; only its BatchNorm moving statistics change.
        dataset: batches of `(images, labels)` or images (training data,
            without augmentation ideally).
        num_batches: how many batches to average over (>= 1).

    Returns:
        The number of BatchNorm layers recalibrated (0: nothing to do).

    Example:
        >>> finalize_ema(model)
        >>> recalibrate_batchnorm(model, data.train, num_batches=50)
    """
    if not isinstance(num_batches, int) or num_batches < 1:
        raise ValueError(f"Expected an integer >= 1 for `num_batches`. Received: num_batches={num_batches}")
    layers = _batchnorm_layers(model)
    if not layers:
        return 0
    saved = [(layer, layer.momentum, layer.trainable) for layer in layers]
    try:
        for layer in layers:
            layer.trainable = True  # Keras uses batch statistics only for trainable BN
            layer.call = _in_training_mode(layer.call)  # BN alone; the model runs in inference mode
            layer.moving_mean.assign(keras.ops.zeros_like(layer.moving_mean))
            layer.moving_variance.assign(keras.ops.zeros_like(layer.moving_variance))
        for i, batch in enumerate(dataset.take(num_batches)):
            images = batch[0] if isinstance(batch, (tuple, list)) else batch
            for layer in layers:
                layer.momentum = i / (i + 1.0)  # cumulative average of the batch statistics
            model(images, training=False)
    finally:
        for layer, momentum, trainable in saved:
            layer.momentum, layer.trainable = momentum, trainable
            if "call" in vars(layer):
                del layer.call  # back to the class's own `call`
    return len(layers)
