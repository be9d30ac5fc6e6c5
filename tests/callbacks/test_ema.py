"""EMA / Polyak averaging (Keras's optimizer EMA) against the lecture's NumPy loop."""

import numpy as np
import pytest

import keras

from deeprob_keras.callbacks import ema_update, finalize_ema
from tests.distribute import run_in_two_replicas

BETA = 0.995


class RecordWeights(keras.callbacks.Callback):
    """Raw trainable weights after every training step (and at each batch begin)."""

    def __init__(self):
        super().__init__()
        self.after_step, self.at_begin, self.epoch_of_step = [], [], []
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.at_begin.append([np.array(v) for v in self.model.trainable_variables])

    def on_train_batch_end(self, batch, logs=None):
        self.after_step.append([np.array(v) for v in self.model.trainable_variables])
        self.epoch_of_step.append(self._epoch)


def lecture_average(raw_steps, beta=BETA):
    """x_test = beta * x_test + (1 - beta) * x after every step; x_test starts at the first iterate."""
    x_test = [w.copy() for w in raw_steps[0]]
    for x in raw_steps[1:]:
        x_test = [beta * a + (1 - beta) * b for a, b in zip(x_test, x)]
    return x_test


def _data(n=64, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x @ rng.normal(size=(d, 1)) + 0.5).astype("float32")
    return x, y


def _linear_model(seed=0, d=6):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05, use_ema=True, ema_momentum=BETA), loss="mse")
    return model


def test_ema_update_formula_and_bad_beta():
    np.testing.assert_allclose(ema_update(np.array([1.0, 2.0]), np.array([3.0, 0.0]), 0.9), [1.2, 1.8])
    for beta in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="beta"):
            ema_update(0.0, 1.0, beta)


def test_ema_weights_equal_lecture_loop_and_batchnorm_stats_are_not_averaged():
    x, y = _data()
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((6,)), keras.layers.Dense(8), keras.layers.BatchNormalization(),
        keras.layers.Activation("relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=BETA), loss="mse")
    rec = RecordWeights()
    bn = model.layers[1]
    moving = []   # BN's moving statistics after every step, as BatchNorm computed them
    track = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: moving.append(
        (np.array(bn.moving_mean), np.array(bn.moving_variance))))
    model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[rec, track])
    assert len(rec.after_step) == 24
    expected = lecture_average(rec.after_step)
    got = [np.array(v) for v in model.trainable_variables]  # fit ends by copying the averages in
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    # the average is not simply the last iterate (else the test could not fail)
    assert max(np.abs(a - b).max() for a, b in zip(expected, rec.after_step[-1])) > 1e-3
    # BN moving statistics are left as BatchNorm computed them (not averaged): after fit they
    # are exactly the running statistics of the raw network's last step ...
    np.testing.assert_array_equal(np.array(bn.moving_mean), moving[-1][0])
    np.testing.assert_array_equal(np.array(bn.moving_variance), moving[-1][1])
    # ... which differ from what an EMA of them would have given (else the test could not fail).
    averaged_mean = lecture_average([[m] for m, _ in moving])[0]
    assert np.abs(moving[-1][0] - averaged_mean).max() > 1e-3
    assert all(v is not bn.moving_mean for v in model.trainable_variables)


def test_validation_uses_averaged_weights_while_training_continues_on_raw():
    x, y = _data(n=48)
    xv, yv = _data(n=16, seed=3)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05, use_ema=True, ema_momentum=BETA), loss="mse")
    rec = RecordWeights()
    hist = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, validation_data=(xv, yv),
                     callbacks=[rec, keras.callbacks.SwapEMAWeights(swap_on_epoch=True)])
    steps_per_epoch = 6
    for epoch in range(2):
        _w, _b = lecture_average(rec.after_step[: (epoch + 1) * steps_per_epoch])
        val_ema = np.mean((xv @ _w + _b - yv) ** 2)
        raw_w, raw_b = rec.after_step[(epoch + 1) * steps_per_epoch - 1]
        val_raw = np.mean((xv @ raw_w + raw_b - yv) ** 2)
        assert abs(val_ema - val_raw) > 1e-3 * val_raw
        np.testing.assert_allclose(hist.history["val_loss"][epoch], val_ema, rtol=1e-4)
    # the first step of epoch 2 starts from the raw weights of the end of epoch 1, not the average
    # (SwapEMAWeights swaps by additions: equal up to float32 rounding)
    ema_end_1 = lecture_average(rec.after_step[:steps_per_epoch])
    for raw, begin, ema in zip(rec.after_step[steps_per_epoch - 1], rec.at_begin[steps_per_epoch], ema_end_1):
        np.testing.assert_allclose(begin, raw, atol=1e-6)
        assert np.abs(begin - ema).max() > 1e-3


def test_finalize_ema_in_a_custom_loop_and_errors():
    x, y = _data()
    model = _linear_model()
    optimizer = model.optimizer
    raw = []
    loss_fn = keras.losses.MeanSquaredError()
    import tensorflow as tf

    for i in range(5):
        with tf.GradientTape() as tape:
            loss = loss_fn(y[i * 8:(i + 1) * 8], model(x[i * 8:(i + 1) * 8], training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        raw.append([np.array(v) for v in model.trainable_variables])
    finalize_ema(model)
    for e, g in zip(lecture_average(raw), model.trainable_variables):
        np.testing.assert_allclose(np.array(g), e, rtol=1e-5, atol=1e-7)

    plain = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    plain.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="use_ema"):
        finalize_ema(plain)
    with pytest.raises(ValueError, match="optimizer"):
        finalize_ema(keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)]))


def ema_two_replicas(strategy):
    x, y = _data()
    with strategy.scope():
        model = _linear_model()
    rec = RecordWeights()
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[rec])
    expected = lecture_average(rec.after_step)
    got = [np.array(v) for v in model.trainable_variables]
    return {
        "steps": len(rec.after_step),
        "max_error": float(max(np.abs(e - g).max() for e, g in zip(expected, got))),
        "ema_vs_last": float(max(np.abs(e - r).max() for e, r in zip(expected, rec.after_step[-1]))),
    }


def test_ema_under_two_replica_mirrored_strategy():
    result = run_in_two_replicas("tests.callbacks.test_ema:ema_two_replicas")
    assert result["steps"] == 8
    assert result["max_error"] < 1e-5
    assert result["ema_vs_last"] > 1e-4
