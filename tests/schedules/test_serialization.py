"""Config round trips, .keras files, graph mode and `model.fit` with every schedule."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.schedules import (ConstantSchedule, CosineDecay, CosineRestarts, InverseSqrtDecay,
                                     LinearDecay, LinearWarmup, StepDecay)
from tests.schedules import reference as ref

STEPS = [0, 1, 5, 19, 20, 21, 50, 99, 100, 150, 400]


def all_schedules():
    return {
        "constant": ConstantSchedule(0.1),
        "step": StepDecay(0.1, [20, 50], gamma=0.5),
        "cosine": CosineDecay(0.1, 100, min_lr_fraction=0.1),
        "linear": LinearDecay(0.1, 100),
        "inverse_sqrt": InverseSqrtDecay(0.1),
        "restarts": CosineRestarts(0.1, 20, cycle_mult=2.0, min_lr_fraction=0.05),
        "restarts_equal": CosineRestarts(0.1, 20),
        "warmup_cosine": LinearWarmup(CosineDecay(0.1, 80), 20),
        "warmup_restarts": LinearWarmup(CosineRestarts(0.1, 30, cycle_mult=2.0), 20),
        "warmup_of_warmup": LinearWarmup(LinearWarmup(StepDecay(0.1, [30], 0.1), 10), 5),
    }


def lrs(schedule, steps=STEPS):
    return np.array([float(schedule(t)) for t in steps])


@pytest.mark.parametrize("key", list(all_schedules()))
def test_config_round_trip(key):
    schedule = all_schedules()[key]
    rebuilt = type(schedule).from_config(schedule.get_config())
    assert rebuilt.get_config() == schedule.get_config()
    np.testing.assert_array_equal(lrs(rebuilt), lrs(schedule))
    # Through Keras's generic (de)serialization, as optimizers do it.
    serialized = keras.optimizers.schedules.serialize(schedule)
    assert serialized["registered_name"] == f"deeprob>{type(schedule).__name__}"
    again = keras.optimizers.schedules.deserialize(serialized)
    assert type(again) is type(schedule)
    np.testing.assert_array_equal(lrs(again), lrs(schedule))


def test_warmup_config_nests_the_inner_class():
    config = LinearWarmup(CosineDecay(0.1, 80), 20).get_config()
    assert config["schedule"]["registered_name"] == "deeprob>CosineDecay"
    assert config["schedule"]["config"]["decay_steps"] == 80
    rebuilt = LinearWarmup.from_config(config)
    assert isinstance(rebuilt.schedule, CosineDecay)


def test_warmup_wraps_a_plain_keras_schedule():
    inner = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    schedule = LinearWarmup(inner, 4)
    rebuilt = LinearWarmup.from_config(schedule.get_config())
    expected = [ref.warmup(t, lambda s: 0.1 * 0.5 ** (s / 10), 4) for t in [0, 2, 4, 14, 24]]
    np.testing.assert_allclose(lrs(rebuilt, [0, 2, 4, 14, 24]), expected, rtol=1e-6)


@pytest.mark.parametrize("key", ["step", "cosine", "restarts", "restarts_equal", "warmup_cosine",
                                 "warmup_restarts", "inverse_sqrt"])
def test_graph_mode_with_variable_step(key):
    schedule = all_schedules()[key]
    step = tf.Variable(0, dtype=tf.int64)

    @tf.function
    def lr_at_current_step():
        return schedule(step)

    got = []
    for t in STEPS:
        step.assign(t)
        got.append(float(lr_at_current_step()))
    np.testing.assert_allclose(got, lrs(schedule), rtol=1e-6, atol=1e-8)


def tiny_model(schedule):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss="mse")
    return model


def test_keras_file_round_trip(tmp_path):
    schedule = all_schedules()["warmup_restarts"]
    model = tiny_model(schedule)
    model.fit(np.ones((8, 3)), np.ones((8, 1)), batch_size=4, epochs=1, verbose=0)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    loaded_schedule = loaded.optimizer._learning_rate
    assert isinstance(loaded_schedule, LinearWarmup)
    assert isinstance(loaded_schedule.schedule, CosineRestarts)
    np.testing.assert_array_equal(lrs(loaded_schedule), lrs(schedule))
    assert int(loaded.optimizer.iterations) == 2
    assert float(loaded.optimizer.learning_rate) == pytest.approx(float(schedule(2)))


class RecordLearningRate(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        self.model.seen.append((int(self.model.optimizer.iterations),
                                float(self.model.optimizer.learning_rate)))


def test_schedule_follows_optimizer_iterations_under_fit():
    # Warmup W=4, then cosine over T=16 (a 20-step run): 5 epochs of 4 batches.
    schedule = LinearWarmup(CosineDecay(0.2, 16, min_lr_fraction=0.1), 4)
    model = tiny_model(schedule)
    model.seen = []
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 3)), rng.normal(size=(32, 1))
    model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[RecordLearningRate()])

    def formula(t):
        return ref.warmup(t, lambda s: ref.cosine(s, 0.2, 16, 0.1), 4)

    steps = [t for t, _ in model.seen]
    assert steps == list(range(20))   # one optimizer step per batch
    np.testing.assert_allclose([lr for _, lr in model.seen], [formula(t) for t in steps], rtol=1e-5, atol=1e-7)
    assert int(model.optimizer.iterations) == 20
    assert float(model.optimizer.learning_rate) == pytest.approx(formula(20), rel=1e-5)


def test_sgd_update_uses_the_scheduled_rate():
    # loss = w * x with x = 1: gradient 1, so each SGD step moves w by -lr(t).
    schedule = StepDecay(1.0, [2], gamma=0.1)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss=lambda y, p: keras.ops.mean(p))
    model.fit(np.ones((3, 1)), np.zeros((3, 1)), batch_size=1, epochs=1, shuffle=False, verbose=0)
    expected = -(ref.step(0, 1.0, [2], 0.1) + ref.step(1, 1.0, [2], 0.1) + ref.step(2, 1.0, [2], 0.1))
    assert float(model.layers[0].kernel.numpy()[0, 0]) == pytest.approx(expected, rel=1e-6)
