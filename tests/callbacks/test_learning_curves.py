import os

import numpy as np
import pytest

import keras

from deeprob_keras.callbacks import LearningCurves, moving_average, plot_history


def test_moving_average_equals_numpy_convolution():
    values = np.random.default_rng(0).normal(size=40)
    expected = np.convolve(values, np.ones(7) / 7, mode="valid")
    np.testing.assert_allclose(moving_average(values, 7), expected)
    np.testing.assert_allclose(moving_average(values[:3], 7), [values[:3].mean()])
    assert moving_average([], 5).size == 0
    with pytest.raises(ValueError, match="window"):
        moving_average(values, 0)


def test_plot_history_writes_png(tmp_path):
    path = tmp_path / "sub" / "curves.png"
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.7],
               "val_accuracy": [0.4, 0.6], "learning_rate": [0.1, 0.05]}
    plot_history(history, str(path), batch_losses=list(np.linspace(2, 1, 30)), window=5)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plot_history({"loss": [1.0]}, str(tmp_path / "minimal.png"))
    assert os.path.getsize(tmp_path / "minimal.png") > 0


def test_callback_records_step_losses_lr_and_writes_png(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    path = tmp_path / "curves.png"
    cb = LearningCurves(str(path), window=3)

    class StepLoss(keras.callbacks.Callback):  # the loss of each step, evaluated independently
        def __init__(self):
            super().__init__()
            self.losses = []

        def on_train_batch_begin(self, batch, logs=None):
            xb, yb = x[batch * 10:(batch + 1) * 10], y[batch * 10:(batch + 1) * 10]
            p = np.array(self.model(xb))
            self.losses.append(float(np.mean(-np.log(p[np.arange(len(yb)), yb]))))

    ref = StepLoss()
    model.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0, validation_data=(x, y),
              callbacks=[ref, cb])
    assert path.read_bytes()[:4] == b"\x89PNG"
    np.testing.assert_allclose(cb.batch_losses, ref.losses, rtol=1e-4)
    assert len(cb.history["val_accuracy"]) == 2
    # lr read at the end of each epoch: 0.1 * 0.5 ** (steps / 4) after 4 and 8 steps
    np.testing.assert_allclose(cb.history["learning_rate"], [0.05, 0.025], rtol=1e-6)


def test_bad_arguments_and_config():
    with pytest.raises(ValueError, match="window"):
        LearningCurves("a.png", window=0)
    with pytest.raises(ValueError, match="path"):
        LearningCurves("")
    cb = LearningCurves.from_config(LearningCurves("x.png", window=9).get_config())
    assert (cb.path, cb.window) == ("x.png", 9)
