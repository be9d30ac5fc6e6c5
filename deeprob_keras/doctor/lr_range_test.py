"""Step 3b: the learning-rate range test (exponentially increasing LR).

The learning rate grows exponentially from `min_lr` to `max_lr` over `steps`
optimizer steps, lr_k = min_lr * (max_lr / min_lr) ** (k / (steps - 1)),
while the loss of every step is recorded; the run stops early once the
smoothed loss exceeds `diverge_factor` x its minimum or turns non-finite.
The loss is smoothed with a bias-corrected exponential moving average
(s_k = beta s_{k-1} + (1 - beta) L_k, reported as s_k / (1 - beta^(k+1))).

Suggestion rules (`suggest_learning_rate`):
- "min/10" (default): the LR where the smoothed loss is lowest, divided by 10
  (at the minimum the rate is already about to diverge), clipped to the range.
- "steepest": the LR where the smoothed loss falls fastest per unit of
  log(LR), searched before the minimum.
"""

import keras
import numpy as np

from deeprob_keras.doctor import _harness, _plotting
from deeprob_keras.doctor.verdict import Verdict

RULES = ("min/10", "steepest")


def exponential_rates(min_lr, max_lr, steps):
    """The swept rates: min_lr * (max_lr / min_lr) ** (k / (steps - 1)), k = 0..steps-1."""
    if not 0 < min_lr < max_lr:
        raise ValueError(f"Expected 0 < min_lr < max_lr. Received: min_lr={min_lr}, max_lr={max_lr}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"Expected an integer >= 2. Received: steps={steps}")
    return min_lr * (max_lr / min_lr) ** (np.arange(steps) / (steps - 1))


def smooth_losses(losses, beta=0.98):
    """Bias-corrected exponential moving average of `losses`."""
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"Expected a float in [0, 1). Received: beta={beta}")
    out, avg = [], 0.0
    for k, loss in enumerate(np.asarray(losses, dtype=np.float64)):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** (k + 1)))
    return np.asarray(out)


def suggest_learning_rate(lrs, losses, rule="min/10", beta=0.98, skip_fraction=0.05):
    """Suggested learning rate from a range test (see the module docstring for the rules).

    Args:
        lrs: the learning rate of every step (increasing).
        losses: the loss of every step (same length; non-finite tail allowed).
        rule: "min/10" or "steepest". Default "min/10".
        beta: smoothing of the loss, in [0, 1). Default 0.98.
        skip_fraction: leading share of steps ignored (the average warms up). Default 0.05.

    Returns:
        (suggested_lr, min_loss_lr), both inside [lrs[0], lrs[-1]].

    Example:
        >>> lr, lr_min = suggest_learning_rate(result.measured["lrs"], result.measured["losses"])
    """
    if rule not in RULES:
        raise ValueError(f"Expected rule in {RULES}. Received: rule={rule!r}")
    lrs = np.asarray(lrs, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    if lrs.shape != losses.shape or lrs.size < 3:
        raise ValueError(f"Expected lrs and losses of the same length >= 3. Received: {lrs.size} and {losses.size}")
    n = int(np.argmax(~np.isfinite(losses))) if not np.all(np.isfinite(losses)) else losses.size
    if n < 3:
        return float(lrs[0]), float(lrs[0])
    smooth = smooth_losses(losses[:n], beta)
    skip = min(int(skip_fraction * n), n - 2)
    i_min = skip + int(np.argmin(smooth[skip:]))
    lr_min = float(lrs[i_min])
    if rule == "min/10":
        return float(np.clip(lr_min / 10.0, lrs[0], lrs[-1])), lr_min
    hi = max(i_min, skip + 2)
    slope = np.gradient(smooth[:hi + 1], np.log(lrs[:hi + 1]))
    i_steep = skip + int(np.argmin(slope[skip:hi + 1]))
    return float(lrs[i_steep]), lr_min


def plot_range_test(lrs, losses, suggested, path, beta=0.98, lr_min=None):
    """PNG of loss vs learning rate (log x), smoothed, with the suggestion marked."""
    plt = _plotting.pyplot()
    lrs, losses = np.asarray(lrs), np.asarray(losses, dtype=np.float64)
    ok = np.isfinite(losses)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(lrs[ok], losses[ok], ".", markersize=2, alpha=0.3, label="loss per step")
    n = int(np.argmax(~ok)) if not ok.all() else losses.size
    if n:
        ax.plot(lrs[:n], smooth_losses(losses[:n], beta), "-", label=f"smoothed (EMA, beta={beta})")
    ax.axvline(suggested, color="red", linestyle="--", label=f"suggested lr={suggested:.3g}")
    if lr_min is not None:
        ax.axvline(lr_min, color="gray", linestyle=":", label=f"min-loss lr={lr_min:.3g}")
    ax.set_xscale("log")
    if ok.any():
        top = min(float(np.max(losses[ok])), 4 * float(losses[ok][0]))
        ax.set_ylim(0, top * 1.05)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title("learning-rate range test")
    ax.legend(fontsize=8)
    return _plotting.save(fig, path)


def lr_range_test(recipe, min_lr=1e-5, max_lr=10.0, steps=300, rule="min/10", diverge_factor=4.0,
                  beta=0.98, datasets=None, plot_path=None, verbose=True):
    """Runs the LR range test on the recipe's model; returns a `Verdict` (step 3b).

    Args:
        recipe: a `Recipe` (its optimizer and model; regularization off).
        min_lr, max_lr: the swept range, 0 < min_lr < max_lr. Default 1e-5 to 10.
        steps: optimizer steps of the full sweep, >= 10. Default 300.
        rule: suggestion rule, "min/10" or "steepest".
        diverge_factor: stop once the smoothed loss exceeds this x its minimum (> 1). Default 4.
        beta: EMA smoothing of the loss. Default 0.98.
        datasets: optional `Datasets` with sparse labels.
        plot_path: PNG path of the loss-vs-LR plot (None: no plot).
        verbose: print a line every 50 steps.

    Returns:
        `Verdict` with `measured["suggested_lr"]`, `min_loss_lr`, `lrs`, `losses`, `rule`.

    Example:
        >>> v = lr_range_test(recipe, plot_path="lr_range.png")
        >>> v.measured["suggested_lr"]
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 10:
        raise ValueError(f"Expected an integer >= 10. Received: steps={steps}")
    rates = exponential_rates(min_lr, max_lr, steps)
    if diverge_factor <= 1:
        raise ValueError(f"Expected a float > 1. Received: diverge_factor={diverge_factor}")
    if rule not in RULES:
        raise ValueError(f"Expected rule in {RULES}. Received: rule={rule!r}")
    plain = _harness.without_regularization(recipe)
    datasets = datasets or _harness.load_plain_datasets(plain)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate=min_lr, decay_steps=steps - 1, decay_rate=max_lr / min_lr)
    trainer = _harness.Trainer(plain, datasets.image_shape, datasets.num_classes, learning_rate=schedule)
    batches = _harness.endless(datasets.train)
    losses, best, avg = [], float("inf"), 0.0
    for k in range(steps):
        x, y = next(batches)
        loss, _ = trainer.step(x, y)
        losses.append(loss)
        if not np.isfinite(loss):
            break
        avg = beta * avg + (1 - beta) * loss
        smoothed = avg / (1 - beta ** (k + 1))
        best = min(best, smoothed)
        if verbose and (k + 1) % 50 == 0:
            print(f"  lr range test: step {k + 1:4d}  lr {rates[k]:.3g}  smoothed loss {smoothed:.4f}", flush=True)
        if k > 10 and smoothed > diverge_factor * best:
            break
    lrs = rates[:len(losses)]
    suggested, lr_min = suggest_learning_rate(lrs, losses, rule=rule, beta=beta)
    smooth = smooth_losses([v for v in losses if np.isfinite(v)], beta)
    dropped = smooth.size > 2 and float(np.min(smooth)) < 0.9 * float(smooth[0])
    plots = [plot_range_test(lrs, losses, suggested, plot_path, beta, lr_min)] if plot_path else []
    measured = {"suggested_lr": suggested, "min_loss_lr": lr_min, "rule": rule, "min_lr": min_lr,
                "max_lr": max_lr, "steps_run": len(losses), "lrs": [float(v) for v in lrs], "losses": losses}
    message = (f"swept lr {min_lr:g} -> {float(lrs[-1]):.3g} in {len(losses)} steps; lowest smoothed loss at "
               f"lr={lr_min:.3g}; suggested lr={suggested:.3g} (rule {rule})")
    cause = "" if dropped else ("the loss never dropped by 10% over the whole range: check the data "
                                "and the initialization (step 1 and 2).")
    return Verdict(3, "learning-rate range test", dropped, measured, message, cause, plots)
