"""Step 5: train the best few settings for longer, without learning-rate decay.

Each candidate is the recipe (its regularization and augmentation included)
with the candidate's hyperparameters written in, a constant learning rate,
no early stopping and no backup; its curves are then read by `diagnose`.
"""

import os
import time

import keras
import numpy as np

from deeprob_keras.callbacks import LearningCurves
from deeprob_keras.doctor.curve_diagnosis import diagnose, plot_curves
from deeprob_keras.doctor.search import format_values as _format_values
from deeprob_keras.doctor.verdict import Verdict
from deeprob_keras.recipe import with_overrides
from deeprob_keras.tuning import apply_hyperparameters


def refine_recipe(recipe, values, epochs):
    """The recipe of a refine run: `values` applied, constant LR, `epochs` epochs, no early stop/backup."""
    return with_overrides(apply_hyperparameters(recipe, values), {
        "training.epochs": epochs, "schedule.name": "constant", "schedule.warmup_epochs": 0.0,
        "callbacks.early_stopping_patience": None, "callbacks.backup": False, "callbacks.snapshots": False,
        "training.ensemble_members": 1})


class _EpochLine(keras.callbacks.Callback):
    def __init__(self, prefix, epochs):
        super().__init__()
        self.prefix, self.epochs = prefix, epochs

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        parts = "  ".join(f"{k} {logs[k]:.4f}" for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k in logs)
        print(f"  {self.prefix} epoch {epoch + 1}/{self.epochs}: {parts}", flush=True)


def train_candidate(recipe, values, out_dir, epochs, label="refine", target_accuracy=0.9, data_overrides=None):
    """Trains one candidate; returns a dict with its history, scores, diagnosis and curve PNG."""
    from deeprob_keras.training import train_recipe

    run_recipe = refine_recipe(recipe, values, epochs)
    if data_overrides:
        run_recipe = with_overrides(run_recipe, data_overrides)
    curves = LearningCurves(os.path.join(out_dir, "curves_live.png"))
    from deeprob_keras.training import run_dir

    if run_dir.run_status(out_dir, run_recipe) == "other":
        run_dir.clear_run(out_dir)  # a candidate's folder is scratch: an earlier doctor's candidate goes
    started = time.time()
    result = train_recipe(run_recipe, out_dir, verbose=0, export=False,
                          extra_callbacks=[curves, _EpochLine(label, epochs)])
    history = {k: [float(v) for v in vals] for k, vals in curves.history.items()}
    val_acc = history.get("val_accuracy") or [float("nan")]
    diagnosis = diagnose(history, curves.batch_losses, target_accuracy=target_accuracy)
    png = plot_curves(history, os.path.join(out_dir, "curves.png"), batch_losses=curves.batch_losses)
    return {"label": label, "values": dict(values), "epochs": epochs, "history": history,
            "best_val_accuracy": float(np.nanmax(val_acc)), "final_val_accuracy": float(val_acc[-1]),
            "final_train_accuracy": float((history.get("accuracy") or [float("nan")])[-1]),
            "test_accuracy": float(result.metrics["test_accuracy"]), "seconds": time.time() - started,
            "diagnosis": diagnosis, "curves_png": png, "out_dir": out_dir}


def refine(recipe, candidates, out_dir, epochs=5, target_accuracy=0.9, data_overrides=None):
    """Trains each candidate `epochs` epochs at a constant LR; returns a `Verdict` (step 5).

    Args:
        recipe: a `Recipe`.
        candidates: list of {dotted key: value} dicts (e.g. `coarse_search(...).measured["best"]`).
        out_dir: one sub-directory per candidate (`refine_<i>/`).
        epochs: epochs per candidate, >= 1. Default 5.
        target_accuracy: passed to `diagnose` (underfitting threshold).
        data_overrides: optional dotted overrides of the data section (e.g. a smaller limit).

    Returns:
        `Verdict` with `measured["runs"]` (best first by validation accuracy).

    Example:
        >>> v = refine(recipe, search.measured["best"][:2], "runs/refine", epochs=5)
        >>> v.measured["runs"][0]["values"]
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"Expected an integer >= 1. Received: epochs={epochs}")
    if not candidates:
        raise ValueError("Expected at least one candidate. Received: candidates=[]")
    runs = []
    for i, values in enumerate(candidates, start=1):
        label = f"refine {i}/{len(candidates)}"
        print(f"[step 5] {label}: {_format_values(values)} for {epochs} epoch(s), constant learning rate", flush=True)
        runs.append(train_candidate(recipe, values, os.path.join(out_dir, f"refine_{i}"), epochs, label,
                                    target_accuracy, data_overrides))
    runs.sort(key=lambda r: -np.nan_to_num(r["best_val_accuracy"], nan=-1.0))
    best = runs[0]
    passed = bool(np.isfinite(best["best_val_accuracy"]))
    message = (f"best of {len(runs)}: val_accuracy {best['best_val_accuracy']:.4f} after {epochs} epoch(s) "
               f"with {_format_values(best['values'])}")
    return Verdict(5, "refine without decay", passed, {"runs": runs}, message,
                   "" if passed else "no candidate produced a finite validation accuracy.",
                   [r["curves_png"] for r in runs])
