"""A best-only ModelCheckpoint that remembers its best value on disk, across a resume."""

import json
import os

import keras


def monitor_mode(monitor):
    """"max" for an accuracy, "min" for a loss (the direction in which `monitor` improves)."""
    return "max" if monitor.endswith("accuracy") else "min"


def read_best_value(filepath, monitor):
    """The monitored value that `BestCheckpoint` last saved `filepath` at, or None.

    Args:
        filepath: the checkpoint path (`.../best.keras`); the value lives in
            `<filepath>.json`.
        monitor: the metric the value must have been recorded for.

    Returns:
        A float, or None when there is no record (or it is for another metric).
    """
    try:
        with open(filepath + ".json") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    if record.get("monitor") != monitor or not os.path.exists(filepath):
        return None
    return float(record["value"])


class BestCheckpoint(keras.callbacks.ModelCheckpoint):
    """`ModelCheckpoint(save_best_only=True)` that writes the best value beside the file.

    Keras's checkpoint forgets its best value when a crashed run is resumed
    (`BackupAndRestore`): the first epoch after the resume would overwrite the
    best checkpoint even when it is worse. This one records
    `{"monitor", "value", "epoch"}` in `<filepath>.json` every time it saves,
    and `build_callbacks` passes that value back as `initial_value_threshold`
    when the run resumes, so `best.keras` on disk stays the best epoch of the
    whole run. An epoch that did not validate (`fit`'s `validation_freq`) is
    skipped without a warning.

    Args:
        filepath: where the best model is saved (a `.keras` file).
        monitor: the metric, e.g. `"val_accuracy"`.
        mode: `"max"` or `"min"`.
        initial_value_threshold: the best value so far (None: no epoch yet).

    Example:

    ```python
    checkpoint = BestCheckpoint("run/best.keras", monitor="val_accuracy", mode="max",
                                initial_value_threshold=read_best_value("run/best.keras", "val_accuracy"))
    ```
    """

    def __init__(self, filepath, monitor="val_accuracy", mode="max", initial_value_threshold=None, verbose=0):
        if mode not in ("max", "min"):
            raise ValueError(f"Expected `mode` to be 'max' or 'min'. Received: mode={mode!r}")
        super().__init__(filepath, monitor=monitor, mode=mode, save_best_only=True, verbose=verbose,
                         initial_value_threshold=initial_value_threshold)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor.startswith("val_") and not any(k.startswith("val_") for k in (logs or {})):
            return  # an epoch that did not validate (`fit(validation_freq=...)`): nothing to compare
        before = self.best
        super().on_epoch_end(epoch, logs)
        if self.best is not None and self.best != before:  # it saved this epoch
            with open(self.filepath + ".json", "w") as f:
                json.dump({"monitor": self.monitor, "value": float(self.best), "epoch": int(epoch)}, f)
