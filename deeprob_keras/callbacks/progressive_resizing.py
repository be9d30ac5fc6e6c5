"""Sets the model's `ProgressiveResize` layers to each epoch's training size."""

import keras

from deeprob_keras.layers._checks import check_int
from deeprob_keras.layers.progressive_resize import ProgressiveResize, progressive_sizes


def progressive_resize_layers(model):
    """Every `ProgressiveResize` layer of `model`, nested models included."""
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, ProgressiveResize)]


class ProgressiveResizing(keras.callbacks.Callback):
    """Epoch `e` trains at side `progressive_sizes(min_size, H, ramp_epochs, ...)[e]` of an `H x W` image.

    At the start of each epoch the model's `ProgressiveResize` layers are set to
    that epoch's side (width in the image's aspect ratio); at its end, before any
    later callback saves or evaluates, they are set back to full size, so that
    every checkpoint and backup holds a model that trains at full size unless
    told otherwise. The epoch index is `fit`'s, so a run resumed by
    `BackupAndRestore` continues the same sequence. Put it first in the callback
    list.

    Args:
        min_size: int >= 1, the side of epoch 0 (at most the image's height).
        ramp_epochs: int >= 0, the first epoch at full size.

    Example:

    ```python
    model = keras.Sequential([keras.Input((28, 28, 1)), ProgressiveResize(), ...])
    model.fit(x, y, epochs=20, callbacks=[ProgressiveResizing(min_size=16, ramp_epochs=10)])
    ```
    """

    def __init__(self, min_size, ramp_epochs):
        super().__init__()
        self.min_size = check_int("min_size", min_size, 1)
        self.ramp_epochs = check_int("ramp_epochs", ramp_epochs, 0)
        self.sizes = {}  # epoch -> side trained at, for the record

    def _layers(self):
        layers = progressive_resize_layers(self.model)
        if not layers:
            raise ValueError("ProgressiveResizing needs a model with a ProgressiveResize layer (its first layer); "
                             f"model {self.model.name!r} has none")
        return layers

    def on_train_begin(self, logs=None):
        for layer in self._layers():
            if self.min_size > layer.full_shape[0]:
                raise ValueError(f"ProgressiveResizing: min_size must be <= the image height {layer.full_shape[0]}. "
                                 f"Received: min_size={self.min_size}")

    def on_epoch_begin(self, epoch, logs=None):
        for layer in self._layers():
            side = progressive_sizes(self.min_size, layer.full_shape[0], self.ramp_epochs, epoch + 1)[epoch]
            layer.set_size(side)
            self.sizes[epoch] = side

    def on_epoch_end(self, epoch, logs=None):
        self._reset()

    def on_train_end(self, logs=None):
        self._reset()

    def _reset(self):
        for layer in self._layers():
            layer.set_size(*layer.full_shape)
