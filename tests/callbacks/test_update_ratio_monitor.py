import csv
import os
import warnings

import numpy as np
import pytest

import keras

from deeprob_keras.callbacks import UpdateRatioMonitor


def _model(lr=0.1):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,), batch_size=None), keras.layers.Dense(2, name="hidden"),
                              keras.layers.Dense(1, name="out")])
    model.compile(optimizer=keras.optimizers.SGD(lr, momentum=0.0), loss="mse")
    return model


def test_ratio_equals_lr_times_gradient_over_weights_for_plain_sgd():
    lr = 0.1
    x = np.array([[1.0, 2.0, -1.0], [0.5, -1.0, 3.0], [2.0, 0.0, 1.0], [-1.0, 1.0, 0.5]], "float32")
    y = np.array([[1.0], [-2.0], [0.5], [3.0]], "float32")
    model = _model(lr)
    W1, b1 = [np.array(v, np.float64) for v in model.layers[0].weights]
    W2, b2 = [np.array(v, np.float64) for v in model.layers[1].weights]
    # NumPy backprop of mean((x W1 + b1) W2 + b2 - y)^2
    h = x @ W1 + b1
    out = h @ W2 + b2
    d_out = 2 * (out - y) / len(x)
    dW2 = h.T @ d_out
    dW1 = x.T @ (d_out @ W2.T)
    expected = {"hidden": np.linalg.norm(-lr * dW1) / np.linalg.norm(W1),
                "out": np.linalg.norm(-lr * dW2) / np.linalg.norm(W2)}
    monitor = UpdateRatioMonitor(every=1, band=(0.0, 1e9))
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[monitor])
    names = {k.split("/")[-1]: k for k in monitor.history if k != "mean"}
    assert set(names) == {"hidden", "out"}
    for layer, value in expected.items():
        (step, ratio), = monitor.history[names[layer]]
        assert step == 1
        np.testing.assert_allclose(ratio, value, rtol=1e-4)
    np.testing.assert_allclose(monitor.history["mean"][0][1], np.mean(list(expected.values())), rtol=1e-4)


def test_every_k_steps_epoch_logs_tensorboard_and_warning(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = rng.normal(size=(40, 1)).astype("float32")
    model = _model(0.1)
    log_dir = str(tmp_path / "tb")
    monitor = UpdateRatioMonitor(every=3, band=(1e-9, 1e-8), log_dir=log_dir)  # any real update leaves it
    csv_path = str(tmp_path / "h.csv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
                            callbacks=[monitor, keras.callbacks.CSVLogger(csv_path)])
    steps = [s for s, _ in monitor.history["mean"]]
    assert steps == [3, 6, 9, 12, 15, 18]
    assert len(history.history["update_ratio_mean"]) == 2
    epoch1 = [r for k, v in monitor.history.items() if k != "mean" for s, r in v if s <= 10]
    np.testing.assert_allclose(history.history["update_ratio_mean"][0], np.mean(epoch1), rtol=1e-6)
    with open(csv_path) as f:
        assert "update_ratio_mean" in next(csv.DictReader(f))
    messages = [str(w.message) for w in caught if "Update/weight ratio" in str(w.message)]
    assert len(messages) == 1 and "too high" in messages[0]  # warned when it left the band, not every step
    assert any(f.startswith("events") for f in os.listdir(log_dir))


def test_bad_arguments_and_config():
    for kwargs, name in [({"every": 0}, "every"), ({"every": 1.5}, "every"),
                         ({"band": (1e-2, 1e-4)}, "band"), ({"band": (-1.0, 1.0)}, "band"),
                         ({"band": (1e-3,)}, "band")]:
        with pytest.raises(ValueError, match=name):
            UpdateRatioMonitor(**kwargs)
    cb = UpdateRatioMonitor.from_config(UpdateRatioMonitor(every=4, band=(1e-5, 1e-1), log_dir="x").get_config())
    assert (cb.every, cb.band, cb.log_dir) == (4, (1e-5, 1e-1), "x")


def ratios_two_replicas(strategy):
    from deeprob_keras.callbacks import SnapshotEnsemble

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    with strategy.scope():
        model = _model(0.1)
    before = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            before.append([np.array(v) for v in self.model.trainable_variables])

        def on_train_batch_end(self, batch, logs=None):
            before[-1] = (before[-1], [np.array(v) for v in self.model.trainable_variables])

    monitor = UpdateRatioMonitor(every=2, band=(0.0, 1e9))
    snaps = SnapshotEnsemble([2, 4])
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[Record(), monitor, snaps])
    (w_before, _, w2_before, _), (w_after, _, w2_after, _) = before[1]
    expected = [float(np.linalg.norm(w_after - w_before) / np.linalg.norm(w_before)),
                float(np.linalg.norm(w2_after - w2_before) / np.linalg.norm(w2_before))]
    got = sorted(((k, v[0]) for k, v in monitor.history.items() if k != "mean"), key=lambda kv: kv[0])
    return {"got": [r for _, (s, r) in got], "steps": [s for _, (s, r) in got], "expected": expected,
            "snapshot_steps": snaps.snapshot_steps}


def test_update_ratio_and_snapshots_under_two_replica_mirrored_strategy():
    from tests.distribute import run_in_two_replicas

    result = run_in_two_replicas("tests.callbacks.test_update_ratio_monitor:ratios_two_replicas")
    assert result["steps"] == [2, 2]
    np.testing.assert_allclose(result["got"], result["expected"], rtol=1e-5)
    assert min(result["expected"]) > 0
    assert result["snapshot_steps"] == [2, 4]
