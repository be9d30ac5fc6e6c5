"""training.validate_last_epochs: validation (and the best checkpoint's choice) only in a run's last N epochs."""

import csv
import json
import math
import os
import warnings

import keras
import numpy as np
import pytest

from deeprob_keras.callbacks import BestCheckpoint, HistoryCSV, LearningCurves
from deeprob_keras.recipe import Recipe, with_overrides
from deeprob_keras.training import train_recipe
from deeprob_keras.training.plan import RunPlan, validation_freq

SMALL = {"model.widths": [8, 16], "data.limit_examples": 320, "training.batch_size": 64,
         "schedule.warmup_epochs": 0.0, "callbacks.backup": False, "training.epochs": 3}


def test_validation_freq_lists_the_last_epochs():
    assert validation_freq(None, 28) == 1
    assert validation_freq(3, 28) == [26, 27, 28]
    assert validation_freq(1, 2) == [2]
    assert validation_freq(28, 28) == 1 and validation_freq(5, 3) == 1  # a shorter run validates every epoch
    with pytest.raises(ValueError, match="validate_last_epochs"):
        validation_freq(0, 5)


def test_run_plan_fits_the_epochs_of_the_run():
    recipe = with_overrides(Recipe(), {"training.epochs": 10, "training.validate_last_epochs": 4})
    assert RunPlan.from_recipe(recipe, 1000).validation_freq == [7, 8, 9, 10]
    shorter = with_overrides(recipe, {"training.epochs": 2})  # e.g. the CLI's --epochs 2
    assert RunPlan.from_recipe(shorter, 1000).validation_freq == 1
    assert RunPlan.from_recipe(Recipe(), 1000).validation_freq == 1


def test_recipe_refuses_bad_values():
    with pytest.raises(ValueError, match="validate_last_epochs"):
        with_overrides(Recipe(), {"training.validate_last_epochs": 0})
    with pytest.raises(ValueError, match="early_stopping_patience needs validation every epoch"):
        with_overrides(Recipe(), {"training.validate_last_epochs": 2, "callbacks.early_stopping_patience": 3})


class _AddsAKey(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs["epoch_seconds"] = 1.0  # as EpochTimer does


def _tiny_fit(tmp_path, validation_freq, epochs=3):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, 64)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    curves = LearningCurves(str(tmp_path / "curves.png"))
    best = str(tmp_path / "best.keras")
    callbacks = [_AddsAKey(), BestCheckpoint(best), curves, HistoryCSV(str(tmp_path / "history.csv"))]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, validation_data=(x, y), validation_freq=validation_freq, epochs=epochs, batch_size=16,
                  callbacks=callbacks, verbose=0)
    with open(tmp_path / "history.csv") as f:
        rows = list(csv.DictReader(f))
    return rows, curves, best, [str(w.message) for w in caught]


def test_epochs_without_validation_log_na_and_keep_the_curves_aligned(tmp_path):
    rows, curves, best, caught = _tiny_fit(tmp_path, validation_freq=[2, 3])
    assert set(rows[0]) == {"epoch", "accuracy", "loss", "epoch_seconds", "val_accuracy", "val_loss"}
    assert [r["val_accuracy"] == "NA" for r in rows] == [True, False, False]
    assert len(curves.history["val_accuracy"]) == len(curves.history["accuracy"]) == 3
    assert math.isnan(curves.history["val_accuracy"][0]) and not math.isnan(curves.history["val_accuracy"][2])
    assert not [m for m in caught if "val_accuracy" in m], caught  # no "can save best only ..." warning
    with open(best + ".json") as f:
        assert json.load(f)["epoch"] in (1, 2)


def test_history_csv_without_validation_data_has_only_metric_columns(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.integers(0, 2, 32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0, callbacks=[_AddsAKey(), HistoryCSV(str(tmp_path / "h.csv"))])
    with open(tmp_path / "h.csv") as f:
        header = next(csv.reader(f))
    assert "val_epoch_seconds" not in header and {"val_loss", "val_accuracy"} <= set(header)


@pytest.mark.slow
def test_train_recipe_validates_the_last_epochs_and_restores_the_best_of_them(tmp_path, capsys):
    recipe = with_overrides(Recipe(name="validate_last"), {**SMALL, "training.validate_last_epochs": 2})
    result = train_recipe(recipe, str(tmp_path), verbose=1, export=False)
    assert "validating epochs 2-3 only" in capsys.readouterr().out
    with open(os.path.join(str(tmp_path), "history.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [r["val_accuracy"] == "NA" for r in rows] == [True, False, False]
    with open(os.path.join(str(tmp_path), "best.keras.json")) as f:
        best_epoch = json.load(f)["epoch"]
    assert best_epoch in (1, 2)
    saved = keras.saving.load_model(os.path.join(str(tmp_path), "best.keras"), safe_mode=False)
    for got, want in zip(result.model.trainable_variables, saved.trainable_variables):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
