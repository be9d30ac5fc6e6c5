"""Step 6: read the learning curves.

`diagnose(history)` looks at per-epoch train/validation loss and accuracy (and,
when given, the loss of every step and the learning rate per epoch) for the
lecture's patterns:

- loss exploding (non-finite, or ending > `explode_factor` x its minimum):
  learning rate too high;
- flat start then a sudden drop: bad initialization;
- a plateau right after a learning-rate decay while the loss was still falling
  before it: the decay came too early;
- a large train/validation accuracy gap (or validation loss rising while the
  training loss falls): overfitting -> more regularization, more data;
- no gap but low training accuracy: underfitting -> train longer, a bigger
  model, maybe a higher learning rate.

One more pattern, not in the lecture's list, is told apart from overfitting:
a validation loss above the untrained loss (the first training loss) while
the training loss falls is not overfitting but unstable validation
(BatchNorm's moving statistics lag a learning rate that is too high).
"""

import dataclasses

import numpy as np

from deeprob_keras.callbacks import moving_average, plot_history
from deeprob_keras.doctor.verdict import Verdict

DIVERGING = "diverging"
BAD_INIT = "bad_initialization"
EARLY_DECAY = "decay_too_early"
OVERFITTING = "overfitting"
UNDERFITTING = "underfitting"
UNSTABLE_VALIDATION = "unstable_validation"
HEALTHY = "healthy"

ADVICE = {
    DIVERGING: "learning rate too high: lower it (e.g. /3 to /10), add warmup or gradient clipping.",
    BAD_INIT: "bad initialization: the loss sat flat before it found a way down; use He/Xavier "
              "initialization, BatchNorm, or check the input scale.",
    EARLY_DECAY: "learning-rate decay too early: the loss was still falling when the rate dropped; "
                 "decay later (or train longer at the higher rate).",
    OVERFITTING: "overfitting: increase regularization (weight decay, dropout, augmentation) or get more data.",
    UNDERFITTING: "underfitting: train longer, use a bigger model, maybe a higher learning rate.",
    UNSTABLE_VALIDATION: "validation loss above the untrained loss while training improves: inference-mode "
                         "statistics (BatchNorm moving averages) cannot follow weights that move this fast; "
                         "lower the learning rate (or add warmup/decay), then judge over/underfitting.",
    HEALTHY: "keep going: train longer with a decay schedule.",
}


@dataclasses.dataclass
class Finding:
    """One pattern found in the curves: `kind`, the evidence in `message`, and `advice`."""

    kind: str
    message: str
    advice: str


def _values(history, key):
    return np.asarray(history.get(key) or [], dtype=np.float64)


def _accuracy_keys(history):
    for train, val in (("accuracy", "val_accuracy"), ("sparse_categorical_accuracy",
                                                      "val_sparse_categorical_accuracy")):
        if history.get(train):
            return train, val
    return None, None


def find_divergence(loss, explode_factor=1.5):
    """A finding when `loss` is non-finite somewhere or ends above `explode_factor` x its minimum."""
    if loss.size == 0:
        return None
    if not np.all(np.isfinite(loss)):
        first = int(np.argmax(~np.isfinite(loss)))
        return Finding(DIVERGING, f"the loss became non-finite at point {first + 1} of {loss.size}", ADVICE[DIVERGING])
    low = float(np.min(loss))
    if loss.size >= 2 and loss[-1] > explode_factor * low and loss[-1] > loss[0] * 0.9:
        return Finding(DIVERGING, f"the loss ends at {loss[-1]:.3g}, {loss[-1] / low:.1f}x its minimum {low:.3g}",
                       ADVICE[DIVERGING])
    return None


def find_bad_initialization(loss, flat_fraction=0.2, min_total_drop=0.2):
    """A finding when the loss stays flat for the first `flat_fraction` of the run, then drops.

    Flat: the loss has not yet covered 10% of its total drop; the total drop
    (first value - minimum) must be at least `min_total_drop` x the first value,
    and at least half of it must happen within the next `flat_fraction` of the run.
    """
    if loss.size < 5 or not np.all(np.isfinite(loss)):
        return None
    start, low = float(loss[0]), float(np.min(loss))
    total = start - low
    if total < min_total_drop * abs(start):
        return None
    covered = (start - loss) / total
    t10 = int(np.argmax(covered >= 0.1))
    if t10 < flat_fraction * loss.size:
        return None
    t_end = min(loss.size - 1, t10 + max(1, int(round(flat_fraction * loss.size))))
    if covered[t_end] < 0.5:
        return None
    return Finding(BAD_INIT, f"the loss stayed flat for the first {t10} of {loss.size} points, "
                             f"then fell by {covered[t_end]:.0%} of its total drop within {t_end - t10} more",
                   ADVICE[BAD_INIT])


def find_early_decay(loss, learning_rate, decay_ratio=0.5, still_falling=0.03, plateau=0.005):
    """A finding when the loss plateaus right after a learning-rate decay it was still falling before.

    At the first epoch e with lr[e] <= decay_ratio x lr[e-1]: the loss fell by at
    least `still_falling` (relative) in the epoch before the decay, and by less
    than `plateau` per epoch from e to the end (at least 2 epochs after).
    """
    if learning_rate.size != loss.size or loss.size < 4:
        return None
    decays = [e for e in range(1, loss.size) if learning_rate[e] <= decay_ratio * learning_rate[e - 1]]
    if not decays:
        return None
    e = decays[0]
    if e < 2 or loss.size - e < 3:
        return None
    before = (loss[e - 2] - loss[e - 1]) / abs(loss[e - 2])
    after = (loss[e] - loss[-1]) / abs(loss[e]) / (loss.size - 1 - e)
    if before >= still_falling and after < plateau:
        return Finding(EARLY_DECAY, f"the loss fell {before:.1%} in the epoch before the decay at epoch {e + 1} "
                                    f"(lr {learning_rate[e - 1]:.3g} -> {learning_rate[e]:.3g}) and only "
                                    f"{after:.2%} per epoch after it", ADVICE[EARLY_DECAY])
    return None


def find_fit_problems(history, gap_threshold=0.05, target_accuracy=0.9, val_rise=0.1):
    """Overfitting (accuracy gap or rising validation loss) or underfitting (no gap, low accuracy)."""
    train_key, val_key = _accuracy_keys(history)
    if train_key is None:
        return None
    train_acc, val_acc = _values(history, train_key), _values(history, val_key)
    loss, val_loss = _values(history, "loss"), _values(history, "val_loss")
    if val_acc.size:
        gap = float(train_acc[-1] - val_acc[-1])
        if gap >= gap_threshold and val_loss.size and loss.size and val_loss[-1] > loss[0] > loss[-1]:
            return Finding(UNSTABLE_VALIDATION, f"validation loss {val_loss[-1]:.3g} is above the first training "
                                                f"loss {loss[0]:.3g} while training reached accuracy "
                                                f"{train_acc[-1]:.3f} (validation {val_acc[-1]:.3f})",
                           ADVICE[UNSTABLE_VALIDATION])
        if gap >= gap_threshold:
            return Finding(OVERFITTING, f"train accuracy {train_acc[-1]:.3f} vs validation {val_acc[-1]:.3f} "
                                        f"(gap {gap:.3f} >= {gap_threshold})", ADVICE[OVERFITTING])
    if val_loss.size >= 3 and loss.size == val_loss.size and np.all(np.isfinite(val_loss)):
        best = int(np.argmin(val_loss))
        if val_loss[-1] > (1 + val_rise) * val_loss[best] and loss[-1] < loss[best]:
            return Finding(OVERFITTING, f"validation loss rose from {val_loss[best]:.3g} (epoch {best + 1}) to "
                                        f"{val_loss[-1]:.3g} while the training loss kept falling",
                           ADVICE[OVERFITTING])
    if train_acc[-1] < target_accuracy:
        gap_text = f", validation {val_acc[-1]:.3f}" if val_acc.size else ""
        return Finding(UNDERFITTING, f"train accuracy only {train_acc[-1]:.3f} (< {target_accuracy}){gap_text}, "
                                     "no train/validation gap", ADVICE[UNDERFITTING])
    return None


def diagnose(history, batch_losses=None, gap_threshold=0.05, target_accuracy=0.9, explode_factor=1.5):
    """Diagnoses learning curves; returns a `Verdict` (step 6) listing `Finding`s.

    Args:
        history: dict of per-epoch lists, as `keras.callbacks.History.history`
            (`loss`, `val_loss`, `accuracy`, `val_accuracy`, optional `learning_rate`).
        batch_losses: optional loss of every step (used for divergence and a
            flat start, smoothed with a moving average of ~2% of the steps).
        gap_threshold: train - validation accuracy counted as overfitting, in (0, 1). Default 0.05.
        target_accuracy: training accuracy below which a no-gap run underfits, in (0, 1]. Default 0.9.
        explode_factor: final loss / minimum loss counted as exploding, > 1. Default 1.5.

    Returns:
        `Verdict` with `measured["findings"]` (list of dicts) and `measured["kinds"]`;
        passed when the only finding is "healthy".

    Example:
        >>> v = diagnose(model.fit(...).history)
        >>> v.measured["kinds"]
        ['overfitting']
    """
    if not 0.0 < gap_threshold < 1.0:
        raise ValueError(f"Expected a float between 0 and 1 (exclusive). Received: gap_threshold={gap_threshold}")
    if not 0.0 < target_accuracy <= 1.0:
        raise ValueError(f"Expected a float in (0, 1]. Received: target_accuracy={target_accuracy}")
    if explode_factor <= 1.0:
        raise ValueError(f"Expected a float > 1. Received: explode_factor={explode_factor}")
    history = {k: list(v) for k, v in (history or {}).items()}
    loss = _values(history, "loss")
    if loss.size == 0:
        raise ValueError("Expected a history with a non-empty 'loss' list. Received keys: "
                         f"{sorted(history)}")
    steps = np.asarray(batch_losses if batch_losses is not None else [], dtype=np.float64)
    curve = loss
    if steps.size >= 20:
        finite = steps[np.isfinite(steps)]
        window = max(1, steps.size // 50)
        curve = moving_average(finite, window) if finite.size == steps.size else steps
    findings = []
    divergence = find_divergence(curve, explode_factor) or find_divergence(loss, explode_factor)
    if divergence:
        findings.append(divergence)
    else:
        for finding in (find_bad_initialization(curve),
                        find_early_decay(loss, _values(history, "learning_rate"))
                        if history.get("learning_rate") else None,
                        find_fit_problems(history, gap_threshold, target_accuracy)):
            if finding:
                findings.append(finding)
    passed = not findings
    if passed:
        findings.append(Finding(HEALTHY, "no overfitting, underfitting, divergence, flat start or early decay",
                                ADVICE[HEALTHY]))
    kinds = [f.kind for f in findings]
    message = "; ".join(f"{f.kind}: {f.message}" for f in findings)
    cause = " ".join(f.advice for f in findings) if not passed else ""
    return Verdict(6, "learning curves", passed, {"kinds": kinds, "findings": [dataclasses.asdict(f) for f in findings]},
                   message, cause)


def plot_curves(history, path, batch_losses=None, window=None):
    """PNG of the curves with moving averages (`deeprob_keras.callbacks.plot_history`)."""
    if window is None:
        window = max(1, len(batch_losses or []) // 50)
    return plot_history(history, path, batch_losses=batch_losses, window=window)
