"""Step 3: find a learning rate that makes the loss drop significantly.

Each candidate (default 1e-1, 1e-2, 1e-3, 1e-4) trains the recipe's model from
the same initial weights for ~100 iterations on all the training data, with
a small weight decay (decoupled, 1e-4) and no other regularization. A rate
"drops the loss significantly" when the mean loss of the last 10 steps is at
most (1 - significant_drop) x the first loss (the untrained model's).
The chosen rate is the one with the lowest final loss among those.
"""

import numpy as np

from deeprob_keras.callbacks import moving_average
from deeprob_keras.doctor import _harness, _plotting
from deeprob_keras.doctor.learning_rate_verdict import OK, classify_learning_rate
from deeprob_keras.doctor.verdict import Verdict

DEFAULT_RATES = (1e-1, 1e-2, 1e-3, 1e-4)


def run_learning_rate(recipe, datasets, learning_rate, iterations, weight_decay):
    """Losses of `iterations` steps at a constant `learning_rate` from the recipe's initial weights."""
    trainer = _harness.Trainer(recipe, datasets.image_shape, datasets.num_classes,
                               learning_rate=learning_rate, weight_decay=weight_decay)
    losses = []
    batches = _harness.endless(datasets.train)
    for _ in range(iterations):
        x, y = next(batches)
        loss, _ = trainer.step(x, y)
        losses.append(loss)
        if not np.isfinite(loss):
            break
    return losses


def plot_sweep(curves, path, window=10):
    """PNG of loss vs step for each learning rate (points and a moving average)."""
    plt = _plotting.pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for lr, losses in curves.items():
        losses = np.asarray(losses, dtype=np.float64)
        finite = losses[np.isfinite(losses)]
        steps = np.arange(1, finite.size + 1)
        line, = ax.plot(steps, finite, ".", markersize=2, alpha=0.3)
        avg = moving_average(finite, window)
        if avg.size:
            ax.plot(steps[finite.size - avg.size:], avg, "-", color=line.get_color(), label=f"lr={lr:g}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.set_title(f"learning-rate sweep (moving average of {window})")
    ax.legend()
    return _plotting.save(fig, path)


def sweep_learning_rates(recipe, rates=DEFAULT_RATES, iterations=100, weight_decay=1e-4,
                         significant_drop=0.3, datasets=None, plot_path=None, verbose=True):
    """Tries each learning rate for `iterations` steps; returns a `Verdict` (step 3).

    Args:
        recipe: a `Recipe` (its optimizer; regularization is turned off).
        rates: candidate learning rates (> 0). Default (1e-1, 1e-2, 1e-3, 1e-4).
        iterations: steps per rate, >= 10. Default 100.
        weight_decay: decoupled weight decay during the sweep, >= 0. Default 1e-4.
        significant_drop: required relative drop of the loss, in (0, 1). Default 0.3.
        datasets: optional `Datasets` with sparse labels.
        plot_path: where to write the loss-curve PNG (None: no plot).
        verbose: print one line per rate.

    Returns:
        `Verdict` with `measured["chosen_lr"]` (None when no rate worked) and
        `measured["rates"]`: {lr: {"label", "relative_drop", "final_loss", "losses"}}.

    Example:
        >>> v = sweep_learning_rates(recipe, iterations=100)
        >>> v.measured["chosen_lr"]
    """
    rates = [float(r) for r in rates]
    if not rates or any(not r > 0 for r in rates):
        raise ValueError(f"Expected a non-empty list of positive learning rates. Received: rates={rates}")
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 10:
        raise ValueError(f"Expected an integer >= 10. Received: iterations={iterations}")
    if not 0.0 < significant_drop < 1.0:
        raise ValueError(f"Expected a float between 0 and 1 (exclusive). Received: significant_drop={significant_drop}")
    if weight_decay < 0:
        raise ValueError(f"Expected a float >= 0. Received: weight_decay={weight_decay}")
    plain = _harness.without_regularization(recipe)
    datasets = datasets or _harness.load_plain_datasets(plain)
    results, curves = {}, {}
    for lr in rates:
        losses = run_learning_rate(plain, datasets, lr, iterations, weight_decay)
        label, drop = classify_learning_rate(losses, min_drop=significant_drop, window=10)
        final = float(np.mean(losses[-10:]))
        significant = label == OK
        results[lr] = {"label": label if label != "too low" else "too slow", "relative_drop": drop,
                       "final_loss": final, "significant": significant, "losses": losses}
        curves[lr] = losses
        if verbose:
            print(f"  lr sweep: lr={lr:<8g} loss {losses[0]:.3f} -> {final:.3f} "
                  f"({-drop:+.0%})  {'drops significantly' if significant else results[lr]['label']}", flush=True)
    good = [lr for lr in rates if results[lr]["significant"]]
    chosen = min(good, key=lambda lr: (results[lr]["final_loss"], -lr)) if good else None
    plots = [plot_sweep(curves, plot_path)] if plot_path else []
    summary = ", ".join(f"{lr:g}: {-results[lr]['relative_drop']:+.0%}" for lr in rates)
    measured = {"chosen_lr": chosen, "iterations": iterations, "weight_decay": weight_decay,
                "significant_drop": significant_drop, "rates": results}
    if chosen is not None:
        message = (f"lr={chosen:g} lowers the loss most within {iterations} iterations "
                   f"(loss change per rate: {summary})")
        cause = ""
    else:
        message = f"no rate dropped the loss by {significant_drop:.0%} in {iterations} iterations ({summary})"
        cause = ("every rate is too high (explodes) or too low (flat): widen the range, check the "
                 "initialization, or go back to step 2.")
    return Verdict(3, "learning-rate sweep", chosen is not None, measured, message, cause, plots)
