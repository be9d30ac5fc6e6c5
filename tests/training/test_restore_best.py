"""callbacks.restore_best: the evaluated and exported model carries the best validation epoch's weights."""

import json
import os

import keras
import numpy as np
import pytest

from deeprob_keras.callbacks import BestCheckpoint, read_best_value
from deeprob_keras.recipe import Recipe, with_overrides
from deeprob_keras.training import train_recipe

SMALL = {"model.widths": [8, 16], "data.limit_examples": 320, "training.batch_size": 64,
         "schedule.warmup_epochs": 0.0, "callbacks.backup": False, "training.epochs": 3}


class _SabotageAndRecord(keras.callbacks.Callback):
    """From epoch `start` on, replaces the trainable weights by zeros after every batch
    (validation falls to chance); records the weights every epoch ends with (the ones
    the checkpoint just saw: it runs after every callback of the run)."""

    def __init__(self, start):
        super().__init__()
        self.start, self.epoch, self.weights = start, 0, []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch >= self.start:
            for v in self.model.trainable_variables:
                v.assign(np.zeros(v.shape, v.dtype))

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([v.numpy().copy() for v in self.model.trainable_variables])


def _run(tmp_path, **overrides):
    recorder = _SabotageAndRecord(start=2)
    recipe = with_overrides(Recipe(name="restore_best"), {**SMALL, **overrides})
    result = train_recipe(recipe, str(tmp_path), verbose=0, extra_callbacks=[recorder], export=False)
    val = result.history["val_accuracy"]
    best_epoch = int(np.argmax(val))   # the first maximum: the checkpoint saves on strict improvement
    assert best_epoch < 2 and max(val[2:]) < val[best_epoch], val   # the run peaked early
    return result, recorder, best_epoch


def _assert_weights(model, expected):
    got = [v.numpy() for v in model.trainable_variables]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


@pytest.mark.slow
def test_best_epoch_is_evaluated_and_exported(tmp_path):
    result, recorder, best_epoch = _run(tmp_path)
    _assert_weights(result.model, recorder.weights[best_epoch])
    reloaded = keras.saving.load_model(result.paths["model"])
    _assert_weights(reloaded, recorder.weights[best_epoch])
    record = json.loads((tmp_path / "best.keras.json").read_text())
    assert record["epoch"] == best_epoch and record["monitor"] == "val_accuracy"
    assert record["value"] == pytest.approx(result.history["val_accuracy"][best_epoch])


@pytest.mark.slow
def test_restore_best_false_keeps_the_last_epoch(tmp_path):
    result, recorder, _ = _run(tmp_path, **{"callbacks.restore_best": False})
    _assert_weights(result.model, recorder.weights[-1])
    assert all(not np.any(w) for w in recorder.weights[-1])


@pytest.mark.slow
def test_with_ema_the_best_averaged_weights_survive_recalibration(tmp_path):
    # SwapEMAWeights puts the averages in the model before the checkpoint and the recorder.
    result, recorder, best_epoch = _run(tmp_path, **{"optimizer.use_ema": True, "optimizer.ema_momentum": 0.5})
    _assert_weights(result.model, recorder.weights[best_epoch])   # finalize_ema did not undo it


def test_best_value_survives_a_resume(tmp_path):
    path = str(tmp_path / "best.keras")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    first = BestCheckpoint(path, monitor="val_accuracy", mode="max")
    first.set_model(model)
    first.on_epoch_end(0, {"val_accuracy": 0.8})
    first.on_epoch_end(1, {"val_accuracy": 0.5})
    assert read_best_value(path, "val_accuracy") == pytest.approx(0.8)
    assert read_best_value(path, "val_loss") is None
    saved = os.path.getmtime(path)
    # The resumed run starts from the recorded value: a worse epoch does not overwrite best.keras.
    resumed = BestCheckpoint(path, monitor="val_accuracy", mode="max",
                             initial_value_threshold=read_best_value(path, "val_accuracy"))
    resumed.set_model(model)
    resumed.on_epoch_end(2, {"val_accuracy": 0.7})
    assert os.path.getmtime(path) == saved and read_best_value(path, "val_accuracy") == pytest.approx(0.8)
    resumed.on_epoch_end(3, {"val_accuracy": 0.9})
    assert read_best_value(path, "val_accuracy") == pytest.approx(0.9)


def test_bad_mode():
    with pytest.raises(ValueError, match="mode='auto'"):
        BestCheckpoint("x.keras", mode="auto")
