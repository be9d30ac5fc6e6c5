"""`train_transfer`: feature extraction, then fine-tuning, in one run.

Phase 1 trains the new head on the frozen backbone at optimizer.learning_rate
for `transfer.feature_extraction_epochs` (outputs in `<out_dir>/feature_extraction/`).
Phase 2 starts from phase 1's model (`transfer.initial_model`), unfreezes the
top of the backbone and trains for `training.epochs` at
`lr_factor x optimizer.learning_rate` (outputs at the top of `<out_dir>`, so
`model.keras`, `serving/` and `metrics.json` are where `train_recipe` puts them).
Both phases go through `train_recipe`; each saves its fully resolved recipe.
The phases (epochs, learning rates, recipe overrides) come from the run plan
(`deeprob_keras.training.plan.plan_phases`); this module only runs them.
Starting the head on frozen features first keeps the large gradients of a
random head from wrecking the pretrained weights.
"""

import dataclasses
import json
import os

from deeprob_keras.recipe import with_overrides
from deeprob_keras.training.plan import global_batch_size, plan_phases


def phase_recipes(recipe, out_dir, phases=None):
    """The (phase name, recipe, directory) of each phase of a transfer recipe.

    `phases` (default `plan_phases(recipe, global_batch_size(recipe))`) says
    how each phase's recipe differs from `recipe`; a later phase starts from
    the previous phase's `model.keras` (`transfer.initial_model`), earlier
    phases write under `<out_dir>/<phase name>/`, the last one in `out_dir`.
    """
    spec = recipe.transfer
    if recipe.model.name != "backbone" or spec is None:
        raise ValueError(f"train_transfer needs model.name: backbone and a transfer section. "
                         f"Received: model.name={recipe.model.name!r}")
    phases = phases if phases is not None else plan_phases(recipe, global_batch_size(recipe))
    if len(phases) == 1:
        return [(phases[0].name, recipe, out_dir)]
    result, previous_dir = [], None
    for i, phase in enumerate(phases):
        last = i == len(phases) - 1
        overrides = dict(phase.overrides)
        if not last:
            overrides["name"] = f"{recipe.name}_{phase.name}"
        if previous_dir is not None:
            overrides["transfer.initial_model"] = os.path.join(previous_dir, "model.keras")
        phase_dir = out_dir if last else os.path.join(out_dir, phase.name)
        result.append((phase.name, with_overrides(recipe, overrides), phase_dir))
        previous_dir = phase_dir
    return result


def train_transfer(recipe, out_dir, strategy=None, verbose=1, extra_callbacks=(), export=True, data_fn=None, *,
                   train_fn):
    """Runs a transfer recipe (both phases for mode two_phase); returns the last phase's `TrainResult`.

    `train_fn` trains one phase: `deeprob_keras.training.train_recipe`, which
    also calls this function for `two_phase` recipes (passed in, so that this
    module does not import `run.py`: no import circle).
    `strategy` and `data_fn` go to each phase's `train_fn` (the TFX Trainer
    passes MirroredStrategy and a `data_fn` reading its TFRecords).

    The result's metrics gain `phases`: {phase name: its test accuracy}; its
    paths gain `feature_extraction` (phase 1's directory) for two_phase runs.

    Example:
        >>> result = train_transfer(load_recipe("recipes/transfer_fashion_5_9.yaml"), "runs/t",
        ...                         train_fn=train_recipe)
        >>> result.metrics["phases"]
        {'feature_extraction': 0.91, 'fine_tune': 0.93}
    """
    out_dir = os.path.abspath(out_dir)
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    plans = plan_phases(recipe, global_batch_size(recipe, replicas))
    phases = phase_recipes(recipe, out_dir, plans)
    accuracies = {}
    result = None
    for i, ((phase, phase_recipe, phase_dir), plan) in enumerate(zip(phases, plans)):
        if verbose:
            print(f"deeprob transfer: phase {i + 1}/{len(phases)} {phase}: {plan.epochs} epochs "
                  f"at learning rate {plan.learning_rate:g} -> {phase_dir}", flush=True)
        last = i == len(phases) - 1
        result = train_fn(phase_recipe, phase_dir, strategy=strategy, verbose=verbose,
                          extra_callbacks=extra_callbacks, export=export and last, data_fn=data_fn)
        accuracies[phase] = result.metrics["test_accuracy"]
        if verbose:
            print(f"deeprob transfer: {phase} test accuracy {accuracies[phase]:.4f}", flush=True)
    result.metrics["phases"] = accuracies
    if len(phases) > 1:
        result.paths["feature_extraction"] = phases[0][2]
        with open(result.paths["metrics"], "w") as f:
            json.dump({**result.metrics, "paths": result.paths}, f, indent=2)
    return dataclasses.replace(result, recipe=recipe)
