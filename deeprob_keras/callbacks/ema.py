"""Polyak / EMA averaging of the weights, reusing Keras 3's optimizer EMA.

The lecture's test-time averaging keeps a second copy of the weights,

    x_test = beta * x_test + (1 - beta) * x        (after every step, beta = 0.995)

Keras 3 already does exactly this inside every optimizer when it is built with
`use_ema=True, ema_momentum=beta` (`BaseOptimizer._update_model_variables_moving_average`,
run right after each update step). We reuse it instead of writing our own:

- Initialization: on the first step Keras uses momentum 0, so the average
  starts at the weights *after* the first step, x_test(1) = x(1); from step 2 on
  it is the lecture's update. (Initializing with the random initial weights
  x(0) would bias the average by beta**k * (x(0) - x(1)), a half-life of
  138 steps for beta = 0.995.)
- Only trainable variables are averaged. Non-trainable BatchNorm moving
  mean/variance are *not* averaged: they stay the running statistics that BN
  accumulated with the raw weights (they are already an EMA, momentum 0.99, of
  the batch statistics). That is our choice too: with beta close to 1 the
  averaged weights move slowly, and the running statistics follow them closely
  enough; re-estimate them on training data if a model uses BN with a small beta.
- `keras.callbacks.SwapEMAWeights(swap_on_epoch=True)` puts the averaged
  weights in the model for validation and for the callbacks that follow it at
  the end of every epoch (checkpointing, early stopping), and swaps the raw
  weights back before training continues.
- `model.fit` ends with `optimizer.finalize_variable_values`, which copies the
  averages into the model; `finalize_ema` does the same explicitly (custom
  training loops, a model loaded from a checkpoint, before export).
"""

import numpy as np


def ema_update(x_test, x, beta=0.995):
    """One step of the lecture's Polyak average: `beta * x_test + (1 - beta) * x`.

    Args:
        x_test: array, the running average.
        x: array, the weights after the current step.
        beta: float in [0, 1), the decay.

    Returns:
        The new average (a NumPy array).
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"Expected a float value in [0, 1). Received: beta={beta}")
    return beta * np.asarray(x_test) + (1.0 - beta) * np.asarray(x)


def _ema_optimizer(model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError("finalize_ema needs a compiled model. Received: model.optimizer=None")
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
    if not getattr(optimizer, "use_ema", False):
        raise ValueError(
            "finalize_ema needs an optimizer built with use_ema=True. "
            f"Received: use_ema={getattr(optimizer, 'use_ema', None)}")
    return optimizer


def finalize_ema(model):
    """Copy the optimizer's averaged (EMA) weights into the model, e.g. before export.

    Idempotent after `model.fit` (which already does it at the end of training).
    The optimizer keeps its averages, so training can go on afterwards, but the
    model then continues from the averaged weights.

    Args:
        model: a compiled `keras.Model` whose optimizer has `use_ema=True` and has
            taken at least one step.

    Example:

    ```python
    model.compile(optimizer=keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.995), loss=...)
    model.fit(x, y, callbacks=[keras.callbacks.SwapEMAWeights(swap_on_epoch=True)])
    finalize_ema(model)
    ```
    """
    optimizer = _ema_optimizer(model)
    if not optimizer.built or not hasattr(optimizer, "_model_variables_moving_average"):
        raise ValueError("finalize_ema needs an optimizer that has taken at least one step "
                         "(its moving averages do not exist yet).")
    optimizer.finalize_variable_values(model.trainable_variables)
    return model
