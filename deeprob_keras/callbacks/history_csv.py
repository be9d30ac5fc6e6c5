"""`HistoryCSV`: Keras's `CSVLogger` with the right validation columns when the first epoch does not validate."""

import keras


class HistoryCSV(keras.callbacks.CSVLogger):
    """`keras.callbacks.CSVLogger` whose validation columns are the model's metrics.

    Keras's logger fixes its columns at the first epoch; when that epoch has no
    validation logs (no validation data, or `fit(validation_freq=...)` skipping
    it), it adds `val_` + every key of the epoch's logs, including the ones
    callbacks add (`val_epoch_seconds`, `val_learning_rate`). This one adds
    `val_` + each metric of the training batches' logs (`val_loss`,
    `val_accuracy`), which an epoch that validates fills and the others leave
    `NA`. The arguments are `CSVLogger`'s.

    Example:

    ```python
    model.fit(x, y, validation_data=(xv, yv), validation_freq=[9, 10], epochs=10,
              callbacks=[HistoryCSV("run/history.csv")])
    ```
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__(filename, separator=separator, append=append)
        self._metric_keys = None

    def on_train_batch_end(self, batch, logs=None):
        if self._metric_keys is None and logs:
            self._metric_keys = sorted(logs)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None and self._metric_keys and not any(k.startswith("val_") for k in logs):
            self.keys = sorted(set(logs) | {f"val_{k}" for k in self._metric_keys})
        super().on_epoch_end(epoch, logs)
