"""Wall time of every epoch, into the logs (and so the history CSV)."""

import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` to each epoch's logs."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start
