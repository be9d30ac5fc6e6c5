"""Recompute BatchNorm statistics for the weights a model ends with.

EMA (Polyak) averaging averages the trainable weights only; the BatchNorm
moving statistics still describe the activations of the *raw* weights. Before
evaluating or exporting averaged weights, the statistics are recomputed: the
model runs forward over training batches and every BatchNorm layer's moving
mean and variance become the plain average of the batch statistics (a
cumulative average, momentum i/(i+1) at batch i), as SWA does for averaged
weights (Izmailov et al., 2018). No weight is changed.
"""

import keras


def _batchnorm_layers(model):
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.BatchNormalization)]


def recalibrate_batchnorm(model, dataset, num_batches=50):
    """Sets every BatchNorm layer's moving statistics to the average over `num_batches`.

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
            layer.moving_mean.assign(keras.ops.zeros_like(layer.moving_mean))
            layer.moving_variance.assign(keras.ops.zeros_like(layer.moving_variance))
        for i, batch in enumerate(dataset.take(num_batches)):
            images = batch[0] if isinstance(batch, (tuple, list)) else batch
            for layer in layers:
                layer.momentum = i / (i + 1.0)  # cumulative average of the batch statistics
            model(images, training=True)
    finally:
        for layer, momentum, trainable in saved:
            layer.momentum, layer.trainable = momentum, trainable
    return len(layers)
