"""Monitor the update/weight ratio ||dW|| / ||W|| per layer (lecture rule of thumb: ~1e-3)."""

import warnings

import keras
import numpy as np


def update_ratio(before, after):
    """`||after - before|| / ||before||` (Frobenius norms), the lecture's update scale / param scale.

    Returns `inf` when `before` is all zeros and the update is not, 0 when both are zero.
    """
    before = np.asarray(before, dtype=np.float64)
    after = np.asarray(after, dtype=np.float64)
    update = np.linalg.norm((after - before).ravel())
    scale = np.linalg.norm(before.ravel())
    if scale == 0.0:
        return 0.0 if update == 0.0 else float("inf")
    return float(update / scale)


def _kernel_variables(model):
    """{name: variable} for trainable kernels (variables of rank >= 2), named after their layer."""
    found = {}
    for v in model.trainable_variables:
        if len(v.shape) < 2:
            continue
        path = getattr(v, "path", v.name)
        parent, _, leaf = path.rpartition("/")
        name = parent if (leaf == "kernel" and parent) else path
        found[name if name not in found else path] = v
    return found


@keras.saving.register_keras_serializable(package="deeprob")
class UpdateRatioMonitor(keras.callbacks.Callback):
    """Logs the ratio of the update's norm to the weights' norm, per layer.

    For every trainable kernel W (biases and BatchNorm scales excluded), every
    `every` steps:

        ratio = ||W_after - W_before|| / ||W_before||

    (for plain SGD, ||-lr * dW|| / ||W||). The lecture's rule of thumb is a ratio
    around 1e-3: much lower and the learning rate is probably too low, much
    higher and it is probably too high. The weights are copied at batch begin
    only on the measured steps.

    Results go to `self.history` ({layer: [(step, ratio), ...]}, step being the
    global step after the update), to TensorBoard (`update_ratio/<layer>` and
    `update_ratio/mean`) when `log_dir` is given, and to the epoch logs as
    `update_ratio_mean` (the mean over layers and measured steps of the epoch; NaN
    if none), so that History and CSVLogger placed after it record it. A
    `warnings.warn` is issued whenever the mean ratio over layers leaves `band`.

    Args:
        every: int >= 1, measure every `every` steps (global steps that are
            multiples of `every`).
        band: (low, high) with 0 <= low < high, the healthy range of the mean ratio.
            Defaults to (1e-4, 1e-2).
        log_dir: optional TensorBoard log directory.

    Example:

    ```python
    monitor = UpdateRatioMonitor(every=10)
    model.fit(x, y, callbacks=[monitor])
    monitor.history["sequential/dense"][-1]   # (step, ratio)
    ```
    """

    def __init__(self, every=10, band=(1e-4, 1e-2), log_dir=None):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"Expected an integer >= 1. Received: every={every}")
        band = tuple(float(b) for b in band)
        if len(band) != 2 or not 0.0 <= band[0] < band[1]:
            raise ValueError(f"Expected band=(low, high) with 0 <= low < high. Received: band={band}")
        self.every = int(every)
        self.band = band
        self.log_dir = log_dir
        self.history = {}
        self._before = None
        self._epoch_ratios = []
        self._in_band = True
        self._writer = None

    def on_train_begin(self, logs=None):
        if self.log_dir and self._writer is None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(self.log_dir)

    def _iterations(self):
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_ratios = []

    def on_train_batch_begin(self, batch, logs=None):
        if (self._iterations() + 1) % self.every == 0:
            self._before = {k: keras.ops.convert_to_numpy(v).copy()
                            for k, v in _kernel_variables(self.model).items()}
        else:
            self._before = None

    def on_train_batch_end(self, batch, logs=None):
        if self._before is None:
            return
        step = self._iterations()
        ratios = {}
        for name, v in _kernel_variables(self.model).items():
            if name in self._before:
                ratios[name] = update_ratio(self._before[name], keras.ops.convert_to_numpy(v))
        self._before = None
        if not ratios:
            return
        for name, r in ratios.items():
            self.history.setdefault(name, []).append((step, r))
        mean = float(np.mean(list(ratios.values())))
        self.history.setdefault("mean", []).append((step, mean))
        self._epoch_ratios.extend(ratios.values())
        self._log_tensorboard(step, ratios, mean)
        in_band = self.band[0] <= mean <= self.band[1]
        if self._in_band and not in_band:
            warnings.warn(
                f"Update/weight ratio left the band {self.band} at step {step}: mean ratio {mean:.3g} "
                f"({'learning rate probably too high' if mean > self.band[1] else 'learning rate probably too low'}).",
                stacklevel=2)
        self._in_band = in_band

    def _log_tensorboard(self, step, ratios, mean):
        if self._writer is None:
            return
        import tensorflow as tf

        with self._writer.as_default(step=step):
            for name, r in ratios.items():
                tf.summary.scalar(f"update_ratio/{name}", r)
            tf.summary.scalar("update_ratio/mean", mean)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["update_ratio_mean"] = float(np.mean(self._epoch_ratios)) if self._epoch_ratios else float("nan")

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()

    def get_config(self):
        return {"every": self.every, "band": list(self.band), "log_dir": self.log_dir}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
