"""`train_transfer`: feature extraction, then fine-tuning, in one run.

Phase 1 trains the new head on the frozen backbone at optimizer.learning_rate
for `transfer.feature_extraction_epochs` (outputs in `<out_dir>/feature_extraction/`).
Phase 2 starts from phase 1's model (`transfer.initial_model`), unfreezes the
top of the backbone and trains for `training.epochs` at
`lr_factor x optimizer.learning_rate` (outputs at the top of `<out_dir>`, so
`model.keras`, `serving/` and `metrics.json` are where `train_recipe` puts them).
Both phases go through `train_recipe`; each saves its fully resolved recipe.
Starting the head on frozen features first keeps the large gradients of a
random head from wrecking the pretrained weights.
"""

import dataclasses
import json
import os

from deeprob_keras.recipe.io import recipe_from_dict
from deeprob_keras.recipe.validation import to_dict
from deeprob_keras.training.plan import global_batch_size, peak_learning_rate


def phase_recipes(recipe, out_dir):
    """The recipes of the two phases of a `two_phase` transfer recipe (or the recipe itself, alone)."""
    spec = recipe.transfer
    if recipe.model.name != "backbone" or spec is None:
        raise ValueError(f"train_transfer needs model.name: backbone and a transfer section. "
                         f"Received: model.name={recipe.model.name!r}")
    if spec.mode != "two_phase":
        return [(spec.mode, recipe, out_dir)]
    data = to_dict(recipe)
    first = json.loads(json.dumps(data))
    first["name"] = f"{recipe.name}_feature_extraction"
    first["transfer"]["mode"] = "feature_extraction"
    first["training"]["epochs"] = spec.feature_extraction_epochs
    # The warmup is fitted to the phase by the run plan (training/plan.py).
    first_dir = os.path.join(out_dir, "feature_extraction")
    second = json.loads(json.dumps(data))
    second["transfer"]["mode"] = "fine_tune"
    second["transfer"]["initial_model"] = os.path.join(first_dir, "model.keras")
    return [("feature_extraction", recipe_from_dict(first), first_dir),
            ("fine_tune", recipe_from_dict(second), out_dir)]


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
    phases = phase_recipes(recipe, out_dir)
    accuracies = {}
    result = None
    for i, (phase, phase_recipe, phase_dir) in enumerate(phases):
        if verbose:
            replicas = strategy.num_replicas_in_sync if strategy is not None else 1
            lr = peak_learning_rate(phase_recipe, global_batch_size(phase_recipe, replicas))
            print(f"deeprob transfer: phase {i + 1}/{len(phases)} {phase}: {phase_recipe.training.epochs} epochs "
                  f"at learning rate {lr:g} -> {phase_dir}", flush=True)
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
