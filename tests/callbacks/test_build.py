import csv
import os

import numpy as np
import pytest

import keras

from deeprob_keras.callbacks.best_checkpoint import BestCheckpoint
from deeprob_keras.callbacks import (HistoryCSV, LearningCurves, NonFiniteLossStop, SnapshotEnsemble,
                                     UpdateRatioMonitor, build_callbacks)
from deeprob_keras.recipe.schema import CallbacksSpec, OptimizerSpec


def _fit(callbacks, use_ema=False, epochs=1):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 5)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.1, use_ema=use_ema, ema_momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x[:40], y[:40], validation_data=(x[40:], y[40:]), batch_size=8, epochs=epochs,
                        verbose=0, callbacks=callbacks)
    return model, history


def test_default_spec(tmp_path):
    out = str(tmp_path / "run")
    callbacks = build_callbacks(CallbacksSpec(), out, OptimizerSpec())
    types = [type(c) for c in callbacks]
    assert types == [keras.callbacks.BackupAndRestore, NonFiniteLossStop, BestCheckpoint,
                     LearningCurves, HistoryCSV, keras.callbacks.TensorBoard]
    _fit(callbacks)
    for name in ("best.keras", "learning_curves.png", "history.csv"):
        assert os.path.exists(os.path.join(out, name)), name
    assert os.listdir(os.path.join(out, "tensorboard"))
    assert keras.models.load_model(os.path.join(out, "best.keras")).predict(np.zeros((1, 5)), verbose=0).shape == (1, 2)


def test_full_spec_order_and_outputs(tmp_path):
    out = str(tmp_path / "run")
    spec = CallbacksSpec(early_stopping_patience=2, monitor="val_loss", snapshots=True,
                         update_ratio_every=2, update_ratio_band=[1e-6, 10.0], backup=True)
    callbacks = build_callbacks(spec, out, OptimizerSpec(use_ema=True), snapshot_steps=[5, 10])
    types = [type(c) for c in callbacks]
    assert types == [keras.callbacks.BackupAndRestore, NonFiniteLossStop, UpdateRatioMonitor, SnapshotEnsemble,
                     keras.callbacks.SwapEMAWeights, BestCheckpoint,
                     keras.callbacks.EarlyStopping, LearningCurves, HistoryCSV,
                     keras.callbacks.TensorBoard]
    stop = callbacks[6]
    assert stop.restore_best_weights and stop.monitor == "val_loss" and stop.patience == 2
    assert callbacks[5].monitor == "val_loss" and callbacks[5].save_best_only
    assert callbacks[4].swap_on_epoch
    _fit(callbacks, use_ema=True, epochs=2)
    snapshots = callbacks[3]
    assert snapshots.snapshot_steps == [5, 10]
    assert sorted(os.listdir(os.path.join(out, "snapshots"))) == ["snapshot_0.weights.h5", "snapshot_1.weights.h5"]
    with open(os.path.join(out, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and "update_ratio_mean" in rows[0]
    assert all(float(r["update_ratio_mean"]) > 0 for r in rows)


def test_ema_spec_puts_averaged_weights_in_best_checkpoint(tmp_path):
    out = str(tmp_path / "run")
    spec = CallbacksSpec(backup=False, terminate_on_nan=False, monitor="val_loss")
    callbacks = build_callbacks(spec, out, OptimizerSpec(use_ema=True))
    raw = []

    class Raw(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raw.append([np.array(v) for v in self.model.trainable_variables])

    model, _ = _fit([Raw()] + callbacks, use_ema=True, epochs=1)
    best = keras.models.load_model(os.path.join(out, "best.keras"))
    x_test = raw[0]
    for x in raw[1:]:
        x_test = [0.9 * a + 0.1 * b for a, b in zip(x_test, x)]
    for e, g in zip(x_test, best.trainable_variables):
        np.testing.assert_allclose(np.array(g), e, atol=1e-5)
    assert max(np.abs(a - b).max() for a, b in zip(x_test, raw[-1])) > 1e-3


def test_snapshots_need_steps(tmp_path):
    with pytest.raises(ValueError, match="snapshot_steps"):
        build_callbacks(CallbacksSpec(snapshots=True), str(tmp_path), OptimizerSpec())
