"""Step 4: coarse search over learning rate and weight decay, through KerasTuner.

Each trial trains the recipe (augmentation off, constant learning rate) for a
few epochs and is scored on validation accuracy. Two searches:

- "random" (`keras_tuner.RandomSearch`): each knob sampled independently,
  learning rate log-uniformly, lr = 10 ** uniform(log10 lo, log10 hi);
- "grid" (`keras_tuner.GridSearch`): every float/int range is first turned
  into `grid_points` values spaced evenly (in log space for `sampling: log`).

The lecture argues that random search covers the one knob that matters with
as many distinct values as there are trials, while a grid covers it with only
`grid_points`; both are offered, the choice is the user's.

The knobs are the recipe's `search_space` when it has one; otherwise the
learning rate (log range `center_lr / lr_span` .. `center_lr * lr_span`) and the
weight decay in {1e-4, 1e-5, 0} (the L2 penalty `regularization.l2` when the
recipe uses one, else the optimizer's decoupled `optimizer.weight_decay`).
"""

import os
import time

import keras_tuner
import numpy as np
import tensorflow as tf

from deeprob_keras.doctor.verdict import Verdict, is_finite
from deeprob_keras.recipe import SearchParam, with_overrides
from deeprob_keras.training import load_recipe_datasets
from deeprob_keras.training.plan import global_batch_size
from deeprob_keras.tuning.hypermodel import RecipeHyperModel
from deeprob_keras.tuning.search_space import tuner_seed

SEARCHES = ("grid", "random")
WEIGHT_DECAYS = (1e-4, 1e-5, 0.0)


def weight_decay_key(recipe):
    """The recipe key that plays "weight decay": `regularization.l2` with an L2 penalty, else `optimizer.weight_decay`."""
    return "regularization.l2" if recipe.regularization.penalty in ("l2", "elastic_net") else "optimizer.weight_decay"


def default_search_space(recipe, center_lr, lr_span=10 ** 0.5, weight_decays=WEIGHT_DECAYS):
    """Learning rate (log) around `center_lr` and weight decay as a list of `SearchParam`."""
    if not center_lr > 0:
        raise ValueError(f"Expected a positive learning rate. Received: center_lr={center_lr}")
    if not lr_span > 1:
        raise ValueError(f"Expected a float > 1. Received: lr_span={lr_span}")
    return [
        SearchParam(name="optimizer.learning_rate", kind="float", min=center_lr / lr_span,
                    max=center_lr * lr_span, sampling="log"),
        SearchParam(name=weight_decay_key(recipe), kind="choice", values=[float(v) for v in weight_decays]),
    ]


def grid_values(param, points):
    """`points` values covering a float/int `SearchParam` (log-spaced when sampling is log)."""
    if param.kind == "choice":
        return list(param.values)
    if param.sampling == "log":
        values = np.geomspace(param.min, param.max, points)
    else:
        values = np.linspace(param.min, param.max, points)
    if param.kind == "int":
        return sorted({int(round(v)) for v in values})
    return [float(f"{v:.4g}") for v in values]


def grid_space(search_space, points=3):
    """The search space with every range replaced by a choice of `grid_points` values."""
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ValueError(f"Expected an integer >= 2. Received: grid_points={points}")
    return [SearchParam(name=p.name, kind="choice", values=grid_values(p, points)) for p in search_space]


def search_recipe(recipe, epochs):
    """The recipe a trial trains: augmentation off, constant learning rate, `epochs` epochs."""
    return with_overrides(recipe, {
        "training.epochs": epochs, "schedule.name": "constant", "schedule.warmup_epochs": 0.0,
        "augmentation.flip": False, "augmentation.scale_min": None, "augmentation.scale_max": None,
        "augmentation.crop_size": None, "augmentation.randaugment_ops": 0, "augmentation.mixup_alpha": 0.0,
        "augmentation.cutmix_alpha": 0.0, "augmentation.random_erasing": 0.0, "augmentation.pca_lighting": 0.0,
        "augmentation.brightness": 0.0, "augmentation.contrast": 0.0, "callbacks.snapshots": False})


def format_values(values):
    """`{"optimizer.learning_rate": 0.0123}` -> "learning_rate=0.0123"."""
    return "  ".join(f"{k.split('.')[-1]}={v:.3g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}"
                     for k, v in values.items())


def _printing(tuner_class):
    class Printing(tuner_class):
        """Prints one line per trial and keeps a table of the trials."""

        def __init__(self, *args, total=None, **kwargs):
            super().__init__(*args, **kwargs)
            self.table, self._total, self._started = [], total, None

        def on_trial_begin(self, trial):
            self._started = time.time()
            super().on_trial_begin(trial)

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            metrics = trial.metrics
            row = {"trial": len(self.table) + 1, "values": dict(trial.hyperparameters.values),
                   "val_accuracy": None, "val_loss": None, "loss": None,
                   "seconds": time.time() - self._started, "status": str(trial.status)}
            for name in ("val_accuracy", "val_loss", "loss"):
                if metrics.exists(name):
                    history = [o.value[0] if hasattr(o.value, "__len__") else o.value
                               for o in metrics.get_history(name)]
                    row[name] = float(history[-1])
            self.table.append(row)
            total = f"/{self._total}" if self._total else ""
            acc = row["val_accuracy"]
            print(f"  trial {row['trial']}{total}: {format_values(row['values'])}  "
                  f"val_accuracy={'nan' if acc is None else f'{acc:.4f}'}  "
                  f"val_loss={row['val_loss'] if row['val_loss'] is None else round(row['val_loss'], 4)}  "
                  f"({row['seconds']:.0f} s)", flush=True)
    return Printing


def coarse_search(recipe, out_dir, center_lr=None, search="random", trials=6, epochs=2, grid_points=3,
                  datasets=None, top_k=3, strategy=None):
    """Runs a coarse KerasTuner search; returns a `Verdict` (step 4) with the trial table.

    Args:
        recipe: a `Recipe`; its `search_space` is used when it has one.
        out_dir: KerasTuner's directory (trial files), created.
        center_lr: learning rate at the middle of the default space (step 3's);
            default the recipe's.
        search: "random" or "grid".
        trials: maximum number of trials, >= 1. Default 6.
        epochs: epochs per trial, in [1, 50]. Default 2 (the lecture: 1-5).
        grid_points: values per float range in a grid search, >= 2. Default 3.
        datasets: optional `Datasets` for the search recipe (labels must suit its loss).
        top_k: how many of the best trials to keep in `measured["best"]`.
        strategy: optional `tf.distribute` strategy.

    Returns:
        `Verdict` with `measured["table"]` (one row per trial, best first) and
        `measured["best"]` (the `top_k` best {dotted key: value} dicts).

    Example:
        >>> v = coarse_search(recipe, "runs/search", center_lr=0.01, search="random", trials=8)
        >>> apply_hyperparameters(recipe, v.measured["best"][0])
    """
    if search not in SEARCHES:
        raise ValueError(f"Expected search in {SEARCHES}. Received: search={search!r}")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"Expected an integer >= 1. Received: trials={trials}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= 50:
        raise ValueError(f"Expected an integer in [1, 50]. Received: epochs={epochs}")
    base = search_recipe(recipe, epochs)
    space = list(recipe.search_space) or default_search_space(recipe, center_lr or recipe.optimizer.learning_rate)
    if search == "grid":
        space = grid_space(space, grid_points)
    strategy = strategy or tf.distribute.get_strategy()
    datasets = datasets or load_recipe_datasets(base, global_batch_size(base, strategy.num_replicas_in_sync))
    if datasets.validation is None:
        raise ValueError("coarse_search needs a validation split. Received: data.validation_fraction=0")
    tuner_class = _printing(keras_tuner.GridSearch if search == "grid" else keras_tuner.RandomSearch)
    tuner = tuner_class(
        RecipeHyperModel(base, space, datasets, epochs=epochs, strategy=strategy), objective="val_accuracy",
        max_trials=trials, seed=tuner_seed(recipe.seed), directory=os.path.abspath(out_dir),
        project_name=f"{search}_search",
        overwrite=True, total=trials)
    print(f"[step 4] {search} search (KerasTuner {tuner_class.__bases__[0].__name__}): up to {trials} trials x "
          f"{epochs} epoch(s) on {datasets.num_examples['train']} examples; space: "
          + ", ".join(f"{p.name} {p.values if p.kind == 'choice' else (p.min, p.max, p.sampling)}" for p in space),
          flush=True)
    tuner.search(verbose=0)  # each trial's data, epochs and NaN stop come from the hypermodel
    table = sorted(tuner.table, key=lambda r: -(r["val_accuracy"] if is_finite(r["val_accuracy"]) else -1.0))
    scored = [r for r in table if is_finite(r["val_accuracy"])]
    best = [dict(r["values"]) for r in scored[:top_k]]
    measured = {"search": search, "tuner": f"keras_tuner.{tuner_class.__bases__[0].__name__}",
                "directory": os.path.join(os.path.abspath(out_dir), f"{search}_search"), "trials": len(table), "epochs": epochs, "table": table, "best": best,
                "space": [{"name": p.name, "kind": p.kind, "min": p.min, "max": p.max, "sampling": p.sampling,
                           "values": p.values} for p in space],
                "examples": datasets.num_examples["train"]}
    if scored:
        top = scored[0]
        message = (f"{len(table)} {search}-search trials of {epochs} epoch(s); best val_accuracy "
                   f"{top['val_accuracy']:.4f} with {format_values(top['values'])}")
        cause = ""
    else:
        message = f"none of the {len(table)} trials produced a validation accuracy"
        cause = "every trial failed: go back to steps 2 and 3."
    return Verdict(4, f"coarse {search} search", bool(scored), measured, message, cause)
