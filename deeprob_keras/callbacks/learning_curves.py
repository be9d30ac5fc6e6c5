"""Learning curves: loss per step, accuracy per epoch and the learning rate, as a PNG."""

import os

import keras
import numpy as np


def moving_average(values, window):
    """Trailing mean over `window` points: `np.convolve(values, ones(w) / w, mode="valid")`.

    `window` is clipped to `len(values)`; returns an empty array for no values.
    """
    values = np.asarray(values, dtype=np.float64)
    if window < 1:
        raise ValueError(f"Expected an integer >= 1. Received: window={window}")
    if values.size == 0:
        return values
    w = min(int(window), values.size)
    return np.convolve(values, np.ones(w) / w, mode="valid")


def plot_history(history, path, batch_losses=None, window=50):
    """Write a PNG of a training run's curves.

    Panels: loss per step (points) and its moving average when `batch_losses`
    is given, else train/val loss per epoch; train/val accuracy per epoch; the
    learning rate per epoch (when `history` has `learning_rate` or `lr`).

    Args:
        history: dict of lists per epoch, as `keras.callbacks.History.history`.
        path: output PNG path (directories are created).
        batch_losses: optional list of the loss of every step.
        window: moving-average window, in steps.

    Returns:
        `path`.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    history = {k: list(v) for k, v in (history or {}).items()}
    lr_key = "learning_rate" if "learning_rate" in history else ("lr" if "lr" in history else None)
    acc_keys = [k for k in ("accuracy", "val_accuracy", "sparse_categorical_accuracy",
                            "val_sparse_categorical_accuracy") if history.get(k)]
    n_panels = 2 + (lr_key is not None)
    fig, axes = plt.subplots(1, n_panels, figsize=(5 * n_panels, 4))
    ax = axes[0]
    if batch_losses:
        steps = np.arange(1, len(batch_losses) + 1)
        ax.plot(steps, batch_losses, ".", markersize=2, alpha=0.4, label="loss per step")
        avg = moving_average(batch_losses, window)
        if avg.size:
            w = len(batch_losses) - avg.size + 1
            ax.plot(steps[w - 1:], avg, "-", label=f"moving average ({w} steps)")
        ax.set_xlabel("step")
    else:
        for k in ("loss", "val_loss"):
            if history.get(k):
                ax.plot(np.arange(1, len(history[k]) + 1), history[k], "o-", label=k)
        ax.set_xlabel("epoch")
    if history.get("val_loss") and batch_losses:
        ax.set_title("training loss (val_loss per epoch: see CSV)")
    else:
        ax.set_title("loss")
    ax.set_yscale("log" if batch_losses and min(batch_losses) > 0 else "linear")
    ax.legend()
    ax = axes[1]
    for k in acc_keys:
        ax.plot(np.arange(1, len(history[k]) + 1), history[k], "o-", label=k)
    ax.set_title("accuracy")
    ax.set_xlabel("epoch")
    if acc_keys:
        ax.legend()
    if lr_key is not None:
        ax = axes[2]
        ax.plot(np.arange(1, len(history[lr_key]) + 1), history[lr_key], "o-")
        ax.set_title("learning rate")
        ax.set_xlabel("epoch")
    fig.tight_layout()
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


@keras.saving.register_keras_serializable(package="deeprob")
class LearningCurves(keras.callbacks.Callback):
    """Records loss per step, metrics and learning rate per epoch; writes a PNG every epoch.

    The PNG (see `plot_history`) shows the loss of every step as points with a
    moving average of `window` steps, train/val accuracy per epoch and the
    learning rate per epoch (read from the optimizer at the end of the epoch,
    so schedules are included).

    Args:
        path: output PNG path.
        window: int >= 1, moving-average window in steps. Defaults to 50.

    Attributes:
        batch_losses: loss of every training step (the step's own loss, recovered
            from Keras's running epoch mean).
        history: dict of per-epoch lists (the epoch logs plus `learning_rate`).

    Example:

    ```python
    model.fit(x, y, validation_split=0.1, callbacks=[LearningCurves("run/curves.png")])
    ```
    """

    def __init__(self, path="learning_curves.png", window=50):
        super().__init__()
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
            raise ValueError(f"Expected an integer >= 1. Received: window={window}")
        if not path:
            raise ValueError(f"Expected a non-empty file path. Received: path={path!r}")
        self.path = path
        self.window = int(window)
        self.batch_losses = []
        self.history = {}
        self._prev_mean = 0.0
        self._prev_count = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._prev_mean, self._prev_count = 0.0, 0

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        # Keras logs the running mean over the epoch; undo it to get this step's loss.
        count = batch + 1
        mean = float(loss)
        done = count - self._prev_count
        if done >= 1:
            step_loss = (mean * count - self._prev_mean * self._prev_count) / done
            self.batch_losses.append(step_loss)
        self._prev_mean, self._prev_count = mean, count

    def _learning_rate(self):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return None
        try:
            return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        except Exception:  # an optimizer without a readable learning rate
            return None

    def on_epoch_end(self, epoch, logs=None):
        row = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
        lr = self._learning_rate()
        if lr is not None:
            row["learning_rate"] = lr
        # One entry per epoch for every key: NaN where an epoch did not log it (e.g. the epochs that do
        # not validate with `fit(validation_freq=...)`), so that the curves stay aligned with the epochs.
        done = max((len(v) for v in self.history.values()), default=0)
        for k in sorted(set(self.history) | set(row)):
            self.history.setdefault(k, [float("nan")] * done).append(row.get(k, float("nan")))
        plot_history(self.history, self.path, batch_losses=self.batch_losses, window=self.window)

    def get_config(self):
        return {"path": self.path, "window": self.window}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
