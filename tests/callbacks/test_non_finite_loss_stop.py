import numpy as np

import keras

from deeprob_keras.callbacks import NonFiniteLossStop


def _fit(x, lr, callbacks, epochs=3):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    y = np.ones((len(x), 1), "float32")
    return model, model.fit(x, y, batch_size=4, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)


def test_stops_at_the_first_non_finite_step_with_a_useful_message(capsys):
    x = np.ones((16, 4), "float32")
    x[8:12] = np.inf  # batch 3 (global step 3) gives an infinite/NaN loss
    stop = NonFiniteLossStop()
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    model, history = _fit(x, 0.01, [stop, Count()])
    assert stop.stopped_step == 3
    assert model.stop_training
    assert "learning rate too high or bad initialization" in stop.message
    assert "step 3" in stop.message
    assert "learning rate too high or bad initialization" in capsys.readouterr().out
    assert seen == [0, 1, 2]  # no further batch, no further epoch
    assert len(history.history["loss"]) == 1


def test_diverging_learning_rate_is_caught_and_finite_run_is_untouched():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32") * 100
    stop = NonFiniteLossStop()
    _fit(x, 1e3, [stop], epochs=20)
    assert stop.stopped_step is not None and stop.stopped_step >= 1

    ok = NonFiniteLossStop()
    _, history = _fit(x / 100, 0.01, [ok], epochs=2)
    assert ok.stopped_step is None and ok.message is None
    assert len(history.history["loss"]) == 2


def test_config_round_trip():
    cb = NonFiniteLossStop.from_config(NonFiniteLossStop().get_config())
    assert isinstance(cb, keras.callbacks.TerminateOnNaN)
    assert keras.saving.get_registered_name(NonFiniteLossStop) == "deeprob>NonFiniteLossStop"
