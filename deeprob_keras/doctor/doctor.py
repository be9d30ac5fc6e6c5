"""`run_doctor`: the lecture's 7-step hyperparameter procedure within a time budget.

1. initial loss vs log C; 2. overfit 5 minibatches; 3. learning-rate sweep
(1e-1..1e-4, ~100 iterations) and LR range test; 4. coarse search (KerasTuner)
around step 3's rate; 5. refine the best few without decay; 6. diagnose their
curves; 7. apply the diagnosis (more weight decay when overfitting, more epochs
when underfitting or healthy, a lower rate when diverging) and go back to 5
while the budget lasts. Every step prints a line; the report lands in `out_dir`.
"""

import os
import shutil
import time

import numpy as np

from deeprob_keras.doctor import _harness
from deeprob_keras.doctor.curve_diagnosis import (
    BAD_INIT, DIVERGING, HEALTHY, OVERFITTING, UNDERFITTING, UNSTABLE_VALIDATION)
from deeprob_keras.doctor.initial_loss import check_initial_loss
from deeprob_keras.doctor.lr_range_test import lr_range_test
from deeprob_keras.doctor.lr_sweep import sweep_learning_rates
from deeprob_keras.doctor.overfit_small_sample import overfit_small_sample
from deeprob_keras.doctor.plots import plot_overfit, plot_search
from deeprob_keras.doctor.refine import refine, train_candidate
from deeprob_keras.doctor.report import write_report
from deeprob_keras.doctor.search import (
    coarse_search, default_search_space, format_values, grid_space, weight_decay_key)
from deeprob_keras.doctor.verdict import Verdict
from deeprob_keras.recipe import with_overrides
from deeprob_keras.tuning import apply_hyperparameters


class Budget:
    """Wall-clock budget in minutes: `elapsed()`, `remaining()` in seconds."""

    def __init__(self, minutes):
        if not minutes > 0:
            raise ValueError(f"Expected a positive number of minutes. Received: budget_minutes={minutes}")
        self.seconds = 60.0 * minutes
        self.start = time.time()

    def elapsed(self):
        return time.time() - self.start

    def remaining(self):
        return self.seconds - self.elapsed()


def next_candidate(values, epochs, kinds, recipe):
    """Step 7: the hyperparameters to try next given the diagnosis `kinds` (None: nothing to change).

    overfitting -> weight decay x10 (1e-4 when it was 0); diverging, a flat
    start or unstable validation -> learning rate / 3; underfitting or healthy -> twice the epochs.
    """
    values = dict(values)
    lr_key, wd_key = "optimizer.learning_rate", weight_decay_key(recipe)
    if DIVERGING in kinds or BAD_INIT in kinds or UNSTABLE_VALIDATION in kinds:
        values[lr_key] = float(values.get(lr_key, recipe.optimizer.learning_rate)) / 3.0
        return values, epochs, "lower the learning rate (/3)"
    if OVERFITTING in kinds:
        current = values.get(wd_key, recipe.regularization.l2 if wd_key.startswith("regularization")
                             else recipe.optimizer.weight_decay)
        values[wd_key] = float(current) * 10.0 if current else 1e-4
        return values, epochs, f"more weight decay ({wd_key}={values[wd_key]:g})"
    if UNDERFITTING in kinds or HEALTHY in kinds:
        return values, epochs * 2, f"train longer ({epochs * 2} epochs)"
    return None


def _log(line):
    print(line, flush=True)


def run_doctor(recipe, out_dir, budget_minutes=30.0, search="random", trials=None, search_epochs=2,
               top_k=2, overfit_batches=5, sweep_iterations=100, range_steps=200, target_accuracy=0.9,
               runs_dir=None):
    """Runs the 7 steps on `recipe` within `budget_minutes`; writes the report to `out_dir`.

    Steps 1-3 are short and always run; the search and the refine loop share
    the rest of the budget (about 40% / 60%), sized from the throughput
    measured during the sweep: when the full training set does not fit, the
    search (then the refine runs) use the first N training examples.

    Args:
        recipe: a `Recipe`.
        out_dir: report directory (report.md, PNGs, doctor.json, proposed_recipe.yaml;
            training runs go to `out_dir/runs/`).
        budget_minutes: wall-clock budget, > 0. Default 30.
        search: "random" or "grid".
        trials: search trials (default: every grid point for "grid", else what
            the budget allows, 4 to 12).
        search_epochs: epochs per search trial. Default 2.
        top_k: candidates refined. Default 2.
        overfit_batches, sweep_iterations, range_steps: sizes of steps 2 and 3.
        target_accuracy: training accuracy under which a run counts as underfitting.
        runs_dir: where the search and training runs (models, checkpoints) go;
            default `out_dir/runs`.

    Returns:
        dict with `verdicts`, `chosen` (dotted values), `proposed_recipe` and `paths`.

    Example:
        >>> run_doctor(load_recipe("recipes/fashion_mnist.yaml"), "docs/doctor", budget_minutes=30)
    """
    budget = Budget(budget_minutes)
    out_dir = os.path.abspath(out_dir)
    runs_dir = os.path.abspath(runs_dir or os.path.join(out_dir, "runs"))
    os.makedirs(runs_dir, exist_ok=True)
    _log(f"deeprob doctor: {recipe.name!r}, budget {budget_minutes:g} min, report in {out_dir}")
    plain = _harness.without_regularization(recipe)
    data = _harness.load_plain_datasets(plain)
    n_train, n_val = data.num_examples["train"], data.num_examples["validation"]
    verdicts = []

    v = check_initial_loss(recipe, datasets=data)
    verdicts.append(v)
    _log(v.line())

    v = overfit_small_sample(recipe, num_batches=overfit_batches, max_steps=100 * overfit_batches, datasets=data)
    v.plots.append(plot_overfit(v, os.path.join(out_dir, "step2_overfit.png")))
    verdicts.append(v)
    _log(v.line())

    started = time.time()
    v = sweep_learning_rates(recipe, iterations=sweep_iterations, datasets=data,
                             plot_path=os.path.join(out_dir, "step3_lr_sweep.png"))
    steps_done = sum(len(r["losses"]) for r in v.measured["rates"].values())
    images_per_second = steps_done * recipe.training.batch_size / max(time.time() - started, 1e-6)
    verdicts.append(v)
    _log(v.line())
    v_range = lr_range_test(recipe, steps=range_steps, datasets=data,
                            plot_path=os.path.join(out_dir, "step3_lr_range_test.png"))
    verdicts.append(v_range)
    _log(v_range.line())
    center = v.measured["chosen_lr"] or v_range.measured["suggested_lr"]
    _log(f"  measured {images_per_second:.0f} training images/s; coarse search centred on lr={center:g}")

    # Budget the search: trials x epochs x (train + validation/3) / throughput <= 40% of what is left.
    search_seconds = 0.4 * budget.remaining()
    epoch_cost = lambda n: (n + n_val / 3.0) / images_per_second  # noqa: E731
    if trials is None and search == "grid":  # a grid is only a grid when every point is tried
        space = grid_space(list(recipe.search_space) or default_search_space(recipe, center))
        trials = int(np.prod([len(p.values) for p in space]))
    if trials is None:
        trials = int(max(4, min(12, search_seconds / (search_epochs * epoch_cost(n_train)))))
    fit = (search_seconds / (trials * search_epochs) - n_val / 3.0 / images_per_second) * images_per_second
    search_limit = int(min(n_train, max(1000, fit)))
    search_rec = recipe if search_limit >= n_train else with_overrides(recipe, {"data.limit_examples": search_limit})
    v = coarse_search(search_rec, os.path.join(runs_dir, "search"), center_lr=center, search=search,
                      trials=trials, epochs=search_epochs, top_k=top_k)
    if v.passed:
        v.plots.append(plot_search(v.measured["table"], os.path.join(out_dir, "step4_search.png")))
    verdicts.append(v)
    _log(v.line())
    candidates = v.measured["best"] or [{"optimizer.learning_rate": center}]

    # Refine: the top candidates, as many epochs as ~half of the remaining budget allows.
    per_epoch = epoch_cost(n_train) * 1.3  # augmentation, callbacks, test evaluation
    refine_limit = None
    epochs = int(0.5 * budget.remaining() / (len(candidates) * per_epoch))
    if epochs < 2:
        refine_limit = int(max(1000, min(n_train, 0.5 * budget.remaining() / (len(candidates) * 2)
                                         * images_per_second / 1.3 - n_val / 3.0)))
        epochs = 2
        per_epoch = epoch_cost(refine_limit) * 1.3
    epochs = min(epochs, 10)
    overrides = {"data.limit_examples": refine_limit} if refine_limit else None
    v = refine(recipe, candidates, runs_dir, epochs=epochs, target_accuracy=target_accuracy, data_overrides=overrides)
    v.plots = [_copy(r["curves_png"], os.path.join(out_dir, f"step5_refine_{i}.png"))
               for i, r in enumerate(v.measured["runs"], start=1)]
    verdicts.append(v)
    _log(v.line())
    runs = list(v.measured["runs"])
    best = runs[0]
    verdicts.append(_diagnosis_verdict(best, out_dir))
    _log(verdicts[-1].line())

    # Step 7: loop back to 5 while the budget lasts.
    loop_lines, round_no = [], 0
    while True:
        step = next_candidate(best["values"], best["epochs"], best["diagnosis"].measured["kinds"], recipe)
        if step is None:
            break
        values, n_epochs, why = step
        cost = n_epochs * per_epoch + 30
        if cost > budget.remaining():
            loop_lines.append(f"stopped: next run ({why}) needs ~{cost / 60:.1f} min, "
                              f"{max(budget.remaining(), 0) / 60:.1f} min left")
            _log(f"[step 7] {loop_lines[-1]}")
            break
        round_no += 1
        _log(f"[step 7] round {round_no}: {why}: {format_values(values)}")
        run = train_candidate(recipe, values, os.path.join(runs_dir, f"loop_{round_no}"), n_epochs,
                              f"loop {round_no}", target_accuracy, overrides)
        runs.append(run)
        better = run["best_val_accuracy"] > best["best_val_accuracy"]
        loop_lines.append(f"round {round_no}: {why} -> val_accuracy {run['best_val_accuracy']:.4f} "
                          f"({'better, kept' if better else 'not better'}); diagnosis "
                          f"{', '.join(run['diagnosis'].measured['kinds'])}")
        _log(f"[step 7] {loop_lines[-1]}")
        if not better:
            break
        best = run
    loop = Verdict(7, "loop", True, {"rounds": round_no, "best_val_accuracy": best["best_val_accuracy"]},
                   "; ".join(loop_lines) or "nothing left to change",
                   plots=[_copy(r["curves_png"], os.path.join(out_dir, f"step7_loop_{i}.png"))
                          for i, r in enumerate(runs[len(v.measured["runs"]):], start=1)])
    verdicts.append(loop)
    _log(loop.line())

    chosen = dict(best["values"])
    proposed = apply_hyperparameters(recipe, chosen)
    proposed = with_overrides(proposed, {"name": f"{recipe.name}_doctor"})
    notes = [f"budget {budget_minutes:g} min, used {budget.elapsed() / 60:.1f} min",
             f"{images_per_second:.0f} training images/s measured in step 3",
             f"search on {search_limit} training examples" + (" (all)" if search_limit >= n_train else ""),
             f"refine on {refine_limit or n_train} training examples, best val_accuracy "
             f"{best['best_val_accuracy']:.4f} (test accuracy of that run {best['test_accuracy']:.4f})"]
    paths = write_report(out_dir, recipe, verdicts, chosen, proposed, notes)
    _log(f"deeprob doctor: done in {budget.elapsed() / 60:.1f} min")
    _log(f"  report:          {paths['report']}")
    _log(f"  proposed recipe: {paths['recipe']}")
    _log(f"  training runs:   {runs_dir}")
    return {"verdicts": verdicts, "chosen": chosen, "proposed_recipe": proposed, "paths": paths}


def _copy(src, dst):
    shutil.copyfile(src, dst)
    return dst


def _diagnosis_verdict(run, out_dir):
    diagnosis = run["diagnosis"]
    png = _copy(run["curves_png"], os.path.join(out_dir, "step6_curves.png"))
    return Verdict(6, "learning curves", diagnosis.passed, dict(diagnosis.measured),
                   f"{run['label']}: {diagnosis.message}", diagnosis.likely_cause, [png])
