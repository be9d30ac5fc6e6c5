"""One run per output directory: a fingerprint of the recipe, resume, completion.

`train_recipe` writes `run_state.json` into its output directory before it
trains: the sha256 of the resolved recipe YAML and the run's state
(`"training"`, then `"complete"` once `metrics.json` is written). A later call
with the same directory

- and the same recipe resumes (from `backup/`, or from the fitted weights when
  the crash came after the last epoch, during evaluation or export);
- and a different recipe is refused with `RunDirConflict`, which says how to
  resume, start fresh or overwrite, instead of mixing two runs' weights,
  histories and SavedModel versions.

After the last epoch `fitted.weights.h5` (plus `fitted.json`, and the snapshots
in `fitted_snapshots.npz`) holds the model that is evaluated and exported, so
that a kill in the final phase does not retrain; `finish` removes it and
`backup/` once `metrics.json` is written.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import time
import warnings

import numpy as np
import yaml

STATE_FILE = "run_state.json"
FITTED_WEIGHTS = "fitted.weights.h5"
FITTED_INFO = "fitted.json"
FITTED_SNAPSHOTS = "fitted_snapshots.npz"
# What a run writes into its directory; `clear_run` removes these and nothing else.
RUN_ARTIFACTS = (STATE_FILE, "recipe.yaml", "backup", "history.csv", "learning_curves.png", "tensorboard",
                 "best.keras", "best.keras.json", "model.keras", "serving", "metrics.json", "snapshots", "checkpoints",
                 "feature_extraction", FITTED_WEIGHTS, FITTED_INFO, FITTED_SNAPSHOTS)


class RunDirConflict(ValueError):
    """The output directory holds a run of another recipe; the message says what to do."""

    deeprob_user_error = True  # the CLI prints it as one line


def recipe_yaml(recipe):
    """The resolved recipe as the YAML text `save_recipe` writes."""
    return yaml.safe_dump(dataclasses.asdict(recipe), sort_keys=False)


def recipe_fingerprint(recipe):
    """sha256 (hex) of the resolved recipe YAML: equal for equal recipes, whatever file they came from."""
    return hashlib.sha256(recipe_yaml(recipe).encode("utf-8")).hexdigest()


def _read_state(out_dir):
    path = os.path.join(out_dir, STATE_FILE)
    if os.path.exists(path):
        try:
            with open(path) as f:
                state = json.load(f)
            if isinstance(state, dict) and "recipe_sha256" in state:
                return state
        except (OSError, ValueError):
            pass
    # A run written before run_state.json existed: its recipe.yaml says which recipe it was.
    recipe_path = os.path.join(out_dir, "recipe.yaml")
    if os.path.exists(recipe_path):
        with open(recipe_path, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        complete = os.path.exists(os.path.join(out_dir, "metrics.json"))
        return {"recipe_sha256": sha, "state": "complete" if complete else "training"}
    return None


def _write_state(out_dir, sha, state, serving_version=None):
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, STATE_FILE)
    record = {"recipe_sha256": sha, "state": state}
    if serving_version is not None:
        record["serving_version"] = int(serving_version)
    with open(path + ".tmp", "w") as f:
        json.dump(record, f)
    os.replace(path + ".tmp", path)


def serving_version(out_dir):
    """The SavedModel version this run exports as `serving/<version>/`: chosen once (the time
    in seconds, above any version already there) and kept in `run_state.json`, so that a run
    killed between its export and `metrics.json` re-exports into the same version instead of
    leaving two versions of one model for TF Serving."""
    state = _read_state(out_dir) or {}
    if state.get("serving_version") is not None:
        return int(state["serving_version"])
    serving = os.path.join(out_dir, "serving")
    existing = [int(n) for n in os.listdir(serving) if n.isdigit()] if os.path.isdir(serving) else []
    version = max([int(time.time())] + [v + 1 for v in existing])
    if state:
        _write_state(out_dir, state["recipe_sha256"], state["state"], version)
    return version


def run_status(out_dir, recipe):
    """What `out_dir` holds for `recipe`.

    Args:
        out_dir: a run's output directory (need not exist).
        recipe: the `Recipe` about to run there.

    Returns:
        `"empty"` (no run), `"resume"` (this recipe's unfinished run), `"complete"`
        (this recipe's finished run, `metrics.json` written) or `"other"` (a
        run of a different recipe).

    Example:
        >>> run_status("runs/fashion_mnist", recipe)
        'empty'
    """
    state = _read_state(out_dir) if os.path.isdir(out_dir) else None
    if state is None:
        return "empty"
    if state["recipe_sha256"] != recipe_fingerprint(recipe):
        return "other"
    complete = state.get("state") == "complete" and os.path.exists(os.path.join(out_dir, "metrics.json"))
    return "complete" if complete else "resume"


def _differences(out_dir, recipe):
    """A few `key: old -> new` of the stored recipe.yaml against `recipe` (best effort)."""
    try:
        with open(os.path.join(out_dir, "recipe.yaml")) as f:
            old = yaml.safe_load(f)
    except (OSError, yaml.YAMLError):
        return ""
    new = dataclasses.asdict(recipe)
    diffs = []

    def walk(a, b, prefix):
        if isinstance(a, dict) and isinstance(b, dict):
            for key in list(b) + [k for k in a if k not in b]:
                walk(a.get(key), b.get(key), f"{prefix}{key}.")
        elif a != b:
            diffs.append(f"{prefix[:-1]} {a!r} -> {b!r}")

    walk(old, new, "")
    if not diffs:
        return ""
    more = f" (+{len(diffs) - 3} more)" if len(diffs) > 3 else ""
    return f" ({', '.join(diffs[:3])}{more})"


def prepare_run_dir(out_dir, recipe):
    """Checks `out_dir` against `recipe` and records the fingerprint; returns `run_status`'s answer.

    Raises:
        RunDirConflict: `out_dir` holds a run (finished or backed up) of a
            different recipe.
    """
    status = run_status(out_dir, recipe)
    if status == "other":
        state = _read_state(out_dir)
        what = "a finished run" if state.get("state") == "complete" else "an unfinished run"
        raise RunDirConflict(
            f"--out {out_dir} holds {what} of a different recipe{_differences(out_dir, recipe)}. "
            f"To resume it: deeprob train {os.path.join(out_dir, 'recipe.yaml')} --out {out_dir}; "
            f"to start fresh: a new --out; to delete it and train this recipe there: --overwrite")
    sha = recipe_fingerprint(recipe)
    if status == "complete":
        # The library's rerun of a finished run trains it again from scratch (the CLI says
        # "already complete" instead): nothing of the old run is resumed.
        for name in ("backup", FITTED_WEIGHTS, FITTED_INFO, FITTED_SNAPSHOTS):
            _remove(os.path.join(out_dir, name))
    # A resumed run keeps its serving version; a new (or retrained) run gets a new one on export.
    kept = _read_state(out_dir).get("serving_version") if status == "resume" else None
    _write_state(out_dir, sha, "training", kept)
    return status


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def clear_run(out_dir):
    """Removes the run artifacts of `out_dir` (and ensemble members' folders); other files stay."""
    if not os.path.isdir(out_dir):
        return
    for name in os.listdir(out_dir):
        if name in RUN_ARTIFACTS or name.startswith("member_"):
            _remove(os.path.join(out_dir, name))


def save_fitted(out_dir, model, history, snapshots, seconds):
    """Keeps the fitted model (and what the evaluation needs) until the run is complete."""
    info = {"history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
            "epoch": [int(e) for e in history.epoch], "seconds": float(seconds), "snapshots": len(snapshots)}
    weights = os.path.join(out_dir, FITTED_WEIGHTS)
    model.save_weights(weights + ".tmp.weights.h5")
    os.replace(weights + ".tmp.weights.h5", weights)
    if snapshots:
        arrays = {f"s{i}_w{j}": w for i, snap in enumerate(snapshots) for j, w in enumerate(snap)}
        np.savez(os.path.join(out_dir, "fitted_snapshots.tmp.npz"), **arrays)
        os.replace(os.path.join(out_dir, "fitted_snapshots.tmp.npz"), os.path.join(out_dir, FITTED_SNAPSHOTS))
    path = os.path.join(out_dir, FITTED_INFO)  # written last: it marks the fitted state as usable
    with open(path + ".tmp", "w") as f:
        json.dump(info, f)
    os.replace(path + ".tmp", path)


def load_fitted(out_dir, model):
    """`(history, snapshots, seconds)` of a fit that finished before a crash, with `model`'s weights
    set to the fitted ones; None when there is none (the fit runs, resuming from `backup/`)."""
    import keras

    path = os.path.join(out_dir, FITTED_INFO)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        info = json.load(f)
    with warnings.catch_warnings():  # the optimizer is not built yet; only the model's weights matter here
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(os.path.join(out_dir, FITTED_WEIGHTS))
    history = keras.callbacks.History()
    history.history, history.epoch = info["history"], info["epoch"]
    snapshots = []
    if info["snapshots"]:
        with np.load(os.path.join(out_dir, FITTED_SNAPSHOTS)) as data:
            for i in range(info["snapshots"]):
                count = len([k for k in data.files if k.startswith(f"s{i}_")])
                snapshots.append([data[f"s{i}_w{j}"] for j in range(count)])
    return history, snapshots, info["seconds"]


def finish(out_dir, member_dirs=()):
    """After `metrics.json`: the run is complete; its backup and fitted weights are no longer needed."""
    for folder in {out_dir, *member_dirs}:
        for name in ("backup", FITTED_WEIGHTS, FITTED_INFO, FITTED_SNAPSHOTS):
            _remove(os.path.join(folder, name))
    state = _read_state(out_dir)
    _write_state(out_dir, state["recipe_sha256"], "complete", state.get("serving_version"))


def final_recipe(recipe, out_dir):
    """The recipe whose run ends in `out_dir`: `recipe`, or for transfer.mode two_phase its fine-tuning phase."""
    if recipe.model.name == "backbone" and recipe.transfer is not None and recipe.transfer.mode == "two_phase":
        from deeprob_keras.training.two_phase import phase_recipes

        return phase_recipes(recipe, os.path.abspath(out_dir))[-1][1]
    return recipe


def check_out_dir(out_dir, recipe, overwrite=False):
    """What a command should do with `out_dir` before training `recipe` there.

    Args:
        out_dir: the `--out` directory.
        recipe: the recipe about to be trained (two_phase transfer recipes too).
        overwrite: delete the run that `out_dir` holds first.

    Returns:
        `"train"` (nothing there, this recipe's unfinished run to resume, or
        cleared by `overwrite`) or `"complete"` (this recipe's finished run:
        nothing to do).

    Raises:
        RunDirConflict: `out_dir` holds another recipe's run and `overwrite` is False.
    """
    if overwrite:
        clear_run(out_dir)
        return "train"
    final = final_recipe(recipe, out_dir)
    status = run_status(out_dir, final)
    if status == "other":
        prepare_run_dir(out_dir, final)  # raises RunDirConflict with the message
    return "complete" if status == "complete" else "train"
