"""Stop training at the first non-finite batch loss, and say why it likely happened."""

import math

import keras

from deeprob_keras.callbacks.global_step import global_step


def is_finite_loss(loss):
    """True when `loss` (a Python or NumPy scalar) is neither NaN nor +-Inf."""
    return loss is not None and math.isfinite(float(loss))


@keras.saving.register_keras_serializable(package="deeprob")
class NonFiniteLossStop(keras.callbacks.TerminateOnNaN):
    """Stops training at once when the batch loss becomes NaN or Inf.

    Like `keras.callbacks.TerminateOnNaN`, but it records the global step
    (`optimizer.iterations`, counting the failed step) and explains the usual
    causes. The message is printed, kept in `.message`, and the step in
    `.stopped_step`; `model.stop_training` is set, so `fit` ends after the
    current batch.

    Example:

    ```python
    stop = NonFiniteLossStop()
    model.fit(x, y, callbacks=[stop])
    if stop.stopped_step is not None:
        print(stop.message)
    ```
    """

    def __init__(self):
        super().__init__()
        self.stopped_step = None
        self.message = None
        self._seen = 0

    def on_train_begin(self, logs=None):
        self.stopped_step = None
        self.message = None
        self._seen = 0

    def _global_step(self):
        return global_step(self.model, self._seen)

    def on_batch_end(self, batch, logs=None):
        self._seen += 1
        loss = (logs or {}).get("loss")
        if loss is None or is_finite_loss(loss):
            return
        self.stopped_step = self._global_step()
        self.message = (
            f"Non-finite loss ({float(loss)}) at step {self.stopped_step} "
            f"(batch {batch}): learning rate too high or bad initialization. "
            "Stopping training.")
        print(self.message)
        self.model.stop_training = True

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
