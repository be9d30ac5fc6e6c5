"""PNGs of the steps that have no plot of their own: the small-sample run and the search."""

import numpy as np

from deeprob_keras.callbacks import moving_average
from deeprob_keras.doctor import _plotting


def plot_overfit(verdict, path):
    """Loss per step and training accuracy per pass of step 2."""
    plt = _plotting.pyplot()
    losses = np.asarray(verdict.measured["losses"], dtype=np.float64)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    ok = np.isfinite(losses)
    a.plot(np.flatnonzero(ok) + 1, losses[ok], ".", markersize=2, alpha=0.4, label="loss per step")
    w = max(1, int(verdict.measured["num_batches"]))
    avg = moving_average(losses[ok], w)
    if avg.size:
        a.plot(np.arange(ok.sum() - avg.size + 1, ok.sum() + 1), avg, "-", label=f"moving average ({w})")
    a.set_yscale("log" if ok.any() and losses[ok].min() > 0 else "linear")
    a.set_xlabel("step")
    a.set_title(f"overfit {verdict.measured['examples']} examples, lr={verdict.measured['learning_rate']:g}")
    a.legend()
    acc = verdict.measured["epoch_accuracy"]
    b.plot(np.arange(1, len(acc) + 1), acc, "o-", markersize=3)
    b.set_ylim(0, 1.02)
    b.set_xlabel("pass over the sample")
    b.set_title("training accuracy")
    return _plotting.save(fig, path)


def plot_search(table, path, lr_key="optimizer.learning_rate"):
    """Validation accuracy vs learning rate (log x) of every trial, one colour per other setting."""
    plt = _plotting.pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    groups = {}
    for row in table:
        if row.get("val_accuracy") is None or lr_key not in row["values"]:
            continue
        rest = ", ".join(f"{k.split('.')[-1]}={v:g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}"
                         for k, v in row["values"].items() if k != lr_key)
        groups.setdefault(rest or "trials", []).append((row["values"][lr_key], row["val_accuracy"]))
    for name, points in sorted(groups.items()):
        xs, ys = zip(*sorted(points))
        ax.plot(xs, ys, "o", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("validation accuracy")
    ax.set_title("coarse search")
    if groups:
        ax.legend(fontsize=8)
    return _plotting.save(fig, path)
