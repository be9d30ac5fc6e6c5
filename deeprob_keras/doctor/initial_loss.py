"""Step 1: the loss of the untrained model should be log C.

An untrained classifier with small random weights predicts close to the
uniform distribution p_k = 1/C, whose cross-entropy against any target
distribution q (one-hot, or label-smoothed with epsilon) is

    L = -sum_k q_k log(1/C) = log C * sum_k q_k = log C,

so label smoothing does not change the expected value. The check runs with
weight decay / penalties off (they add a term that is not the data loss).
"""

import math

import keras
import numpy as np

from deeprob_keras.doctor import _harness
from deeprob_keras.doctor.verdict import Verdict
from deeprob_keras.models import build_model


def expected_initial_loss(num_classes):
    """log C: the cross-entropy of a uniform prediction over C classes (any targets)."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"Expected an integer >= 2. Received: num_classes={num_classes}")
    return math.log(num_classes)


def judge_initial_loss(measured, num_classes, tolerance=0.1, label_smoothing=0.0):
    """Compares a measured initial loss with log C; returns a `Verdict` (step 1).

    Args:
        measured: mean cross-entropy of the untrained model.
        num_classes: C.
        tolerance: allowed relative deviation |L - log C| / log C, in (0, 1). Default 0.1.
        label_smoothing: epsilon of the recipe, only reported (the expected value is log C either way).
    """
    if not 0.0 < tolerance < 1.0:
        raise ValueError(f"Expected a float between 0 and 1 (exclusive). Received: tolerance={tolerance}")
    expected = expected_initial_loss(num_classes)
    finite = measured is not None and math.isfinite(measured)
    deviation = abs(measured - expected) / expected if finite else float("inf")
    passed = deviation <= tolerance
    measured_values = {"initial_loss": float(measured), "expected": expected, "log_C": expected,
                       "num_classes": int(num_classes), "relative_deviation": float(deviation),
                       "tolerance": tolerance, "label_smoothing": float(label_smoothing)}
    message = (f"untrained loss {measured:.4f} vs log {num_classes} = {expected:.4f} "
               f"(deviation {deviation:.1%}, tolerance {tolerance:.0%})")
    if label_smoothing > 0:
        message += f"; label smoothing {label_smoothing} does not change the expected log C"
    cause = ""
    if not passed:
        if finite and measured > expected:
            cause = ("the untrained model is confidently wrong: initialization too large or the output "
                     "layer's scale/activation is off (e.g. softmax applied twice, logits not scaled), "
                     "or the labels do not match the images (data/label bug).")
        elif finite:
            cause = ("the loss is below chance before training: labels leak into the inputs, the loss "
                     "is averaged wrongly, or the number of classes is wrong (data/label bug).")
        else:
            cause = "the forward pass is not finite: bad initialization or unnormalized inputs."
    return Verdict(1, "initial loss", passed, measured_values, message, cause)


def check_initial_loss(recipe, datasets=None, num_batches=5, tolerance=0.1, training=True):
    """Measures the untrained model's cross-entropy on a few real batches vs log C.

    The model comes from the recipe with every regularizer off. By default the
    forward pass uses training-mode batch statistics (what the first update
    sees); dropout and friends are off anyway.

    Args:
        recipe: a `Recipe`.
        datasets: optional `Datasets` (sparse labels); loaded from the recipe when None.
        num_batches: number of training batches averaged, >= 1. Default 5.
        tolerance: allowed relative deviation from log C. Default 0.1 (10%).
        training: forward pass in training mode (batch statistics). Default True.

    Returns:
        A `Verdict` (step 1).

    Example:
        >>> print(check_initial_loss(load_recipe("recipes/fashion_mnist.yaml")).line())
    """
    if isinstance(num_batches, bool) or not isinstance(num_batches, int) or num_batches < 1:
        raise ValueError(f"Expected an integer >= 1. Received: num_batches={num_batches}")
    plain = _harness.without_regularization(recipe)
    datasets = datasets or _harness.load_plain_datasets(plain)
    keras.utils.set_random_seed(recipe.seed)
    model = build_model(plain, datasets.image_shape, datasets.num_classes)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    losses = []
    for x, y in _harness.fixed_batches(datasets.train, num_batches):
        losses.append(float(loss_fn(y, model(x, training=training))))
    verdict = judge_initial_loss(float(np.mean(losses)), datasets.num_classes, tolerance,
                                 recipe.regularization.label_smoothing)
    verdict.measured["batch_losses"] = losses
    return verdict
