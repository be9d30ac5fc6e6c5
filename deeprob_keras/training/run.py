"""The one training path: recipe -> data, model, optimizer, schedule, loss,
callbacks -> `fit` -> evaluation -> `.keras` and SavedModel export.

The CLI (`deeprob train`), the TFX Trainer's `run_fn` and the tests all call
`train_recipe`.
"""

import dataclasses
import functools
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from deeprob_keras.augment import build_augmentation
from deeprob_keras.augment import TestTimeAugmentation
from deeprob_keras.callbacks import (NonFiniteLossStop, ProgressiveResizing, SnapshotEnsemble, build_callbacks,
                                     finalize_ema)
from deeprob_keras.ensembles import Ensemble
from deeprob_keras.layers import MCAverage
from deeprob_keras.data import load_datasets
from deeprob_keras.models import build_model
from deeprob_keras.recipe import save_recipe, with_overrides
from deeprob_keras.schedules import build_schedule, schedule_snapshot_steps
from deeprob_keras.training.builders import build_loss, build_optimizer
from deeprob_keras.training.batchnorm_recalibration import recalibrate_batchnorm
from deeprob_keras.training.epoch_timer import EpochTimer
from deeprob_keras.training.precision import dtype_policy, precision_warning, resolve_precision
from deeprob_keras.training.export import export_serving_version
from deeprob_keras.training.plan import RunPlan, global_batch_size as plan_global_batch_size, label_form
from deeprob_keras.training import run_dir
from deeprob_keras.training.two_phase import train_transfer


@functools.lru_cache(maxsize=None)
def _has_gpu():
    """Whether TensorFlow sees a GPU (asked once per process: the answer decides `precision: auto`)."""
    return bool(tf.config.list_physical_devices("GPU"))


class TrainingDiverged(RuntimeError):
    """The loss became NaN or Inf; nothing was saved or exported from the bad weights."""


@dataclasses.dataclass
class _Fit:
    model: keras.Model
    history: keras.callbacks.History
    snapshots: list
    seconds: float


def _fit_one(recipe, out_dir, datasets, strategy, plan, extra_callbacks, verbose):
    """Builds, compiles and fits one model; raises `TrainingDiverged` on a NaN/Inf loss."""
    os.makedirs(out_dir, exist_ok=True)
    keras.utils.set_random_seed(recipe.seed)
    model, steps_per_epoch = build_compiled_model(recipe, datasets, strategy, plan=plan)
    fitted = run_dir.load_fitted(out_dir, model)  # killed after the last epoch: no retraining
    if fitted is not None:
        if verbose:
            print(f"deeprob: the training of {recipe.name!r} had finished before the crash; "
                  f"evaluating and exporting its fitted weights", flush=True)
        return _Fit(model, *fitted)
    snapshot_steps = None
    if recipe.callbacks.snapshots:
        snapshot_steps = schedule_snapshot_steps(plan.schedule_spec(recipe.schedule), steps_per_epoch, plan.epochs)
    # Progressive resizing first: its epoch end restores full size before anything saves the model.
    resizing = [ProgressiveResizing(*plan.progressive_resize)] if plan.progressive_resize else []
    callbacks = [EpochTimer()] + resizing + build_callbacks(
        recipe.callbacks, out_dir, recipe.optimizer, snapshot_steps=snapshot_steps) + datasets.callbacks() + list(
        extra_callbacks)
    if verbose:
        print(f"deeprob: training {recipe.name!r} on {datasets.num_examples} examples, "
              f"{plan.replicas} replica(s), global batch {plan.global_batch_size}, "
              f"{steps_per_epoch} steps/epoch, {plan.epochs} epochs, peak learning rate "
              f"{plan.learning_rate:g}, warmup {plan.warmup_epochs:g} epoch(s), "
              f"{model.count_params():,} parameters", flush=True)
        if plan.progressive_resize:
            low, ramp = plan.progressive_resize
            print(f"deeprob: progressive resizing: epochs 1-{ramp} train on images resized to a side rising "
                  f"from {low}, the rest at full size (validation always at full size)", flush=True)
        if plan.validation_freq != 1:
            first, last = plan.validation_freq[0], plan.validation_freq[-1]
            print(f"deeprob: validating epochs {first}-{last} only (training.validate_last_epochs); the best "
                  f"checkpoint is chosen among them", flush=True)
        has_gpu = _has_gpu()
        if recipe.training.precision == "auto":
            print(f"deeprob: training.precision auto -> {resolve_precision('auto', has_gpu=has_gpu)} on this machine",
                  flush=True)
        slow = precision_warning(recipe.training.precision, has_gpu=has_gpu)
        if slow:
            print(f"deeprob: warning: {slow}", flush=True)
    started = time.time()
    history = model.fit(datasets.train, validation_data=datasets.validation, epochs=recipe.training.epochs,
                        validation_freq=plan.validation_freq, callbacks=callbacks, verbose=verbose)
    seconds = time.time() - started
    for callback in callbacks:
        if isinstance(callback, NonFiniteLossStop) and callback.stopped_step is not None:
            best = os.path.join(out_dir, "best.keras")
            raise TrainingDiverged(
                f"{callback.message} Nothing was exported; last good checkpoint: "
                f"{best if os.path.exists(best) else 'none (diverged in the first epoch)'}")
    best = os.path.join(out_dir, "best.keras")
    restored = recipe.callbacks.restore_best and os.path.exists(best)
    if restored:
        # The best validation epoch's weights; with EMA, the averaged ones (SwapEMAWeights ran before
        # the checkpoint). best.keras on disk is the source of truth, also after a resume.
        model.load_weights(best)
    if recipe.optimizer.use_ema:
        if not restored:
            finalize_ema(model)  # the last averages (restoring the best must not be undone by this)
        # The averaged weights need BatchNorm statistics of their own: recalibrate last.
        recalibrate_batchnorm(model, datasets.train_plain or datasets.train, num_batches=50)
    snapshots = next((c.snapshots for c in callbacks if isinstance(c, SnapshotEnsemble)), [])
    run_dir.save_fitted(out_dir, model, history, snapshots, seconds)
    return _Fit(model, history, snapshots, seconds)


def _final_model(recipe, members, snapshots):
    """The model that is evaluated and exported: one model, an ensemble of independent
    members or of snapshots, optionally averaged over K fractional-pooling draws (`MCAverage`)
    and wrapped in test-time augmentation."""
    model = members[0]
    if len(members) > 1:
        model = Ensemble.from_models(members)
    elif len(snapshots) > 1:
        model = Ensemble.from_snapshots(members[0], snapshots)
    if recipe.model.fractional_pooling_test_samples > 1:
        model = MCAverage(model, num_samples=recipe.model.fractional_pooling_test_samples)
    aug = recipe.augmentation
    if aug.tta != "none":
        model = TestTimeAugmentation(model, mode=aug.tta, crop_size=aug.tta_crop_size,
                                     scales=list(aug.tta_scales), translate=aug.tta_translate)
    if model is not members[0]:
        model.compile(loss=members[0].loss, metrics=["accuracy"])
    return model


@dataclasses.dataclass
class TrainResult:
    """What a run produced; `paths` names every artifact on disk."""

    model: keras.Model
    history: dict
    metrics: dict
    paths: dict
    recipe: object


def load_recipe_datasets(recipe, global_batch_size, image_fn=None, batch_fn=None):
    """The recipe's `data` section -> `Datasets`."""
    d = recipe.data
    return load_datasets(
        d.dataset, batch_size=global_batch_size, validation_fraction=d.validation_fraction,
        limit_examples=d.limit_examples, classes=d.classes, examples_per_class=d.examples_per_class,
        image_size=d.image_size, channels=d.channels, seed=recipe.seed, data_dir=d.data_dir,
        image_fn=image_fn, batch_fn=batch_fn,
        one_hot=label_form(recipe) == "one_hot")


def _augmentation(recipe, num_classes, train_arrays):
    pca_stats = None
    if recipe.augmentation.pca_lighting > 0:
        from deeprob_keras.augment import fit_pca_lighting

        pca_stats = fit_pca_lighting(train_arrays[0])
    return build_augmentation(recipe.augmentation, num_classes, pca_stats=pca_stats, seed=recipe.seed)


def load_augmented_datasets(recipe, global_batch_size, data_fn=None):
    """`Datasets` whose training batches carry the recipe's augmentation.

    `data_fn` defaults to `load_recipe_datasets`; it is called a first time
    without augmentation (PCA lighting needs the training arrays), and a second
    time with it when the recipe augments.
    """
    data_fn = data_fn or load_recipe_datasets
    probe = data_fn(recipe, global_batch_size)
    image_fn, batch_fn = _augmentation(recipe, probe.num_classes, probe.train_arrays)
    return data_fn(recipe, global_batch_size, image_fn, batch_fn) if (image_fn or batch_fn) else probe


def build_compiled_model(recipe, datasets, strategy, global_batch_size=None, plan=None):
    """Model, optimizer (with schedule), loss and metrics, compiled under `strategy`.

    Every number comes from `plan` (a `RunPlan`: steps per epoch, peak learning
    rate, fitted warmup, label form); by default the plan of `recipe` on
    `datasets` under `strategy`, batched with `global_batch_size` when given.
    Returns `(model, plan.steps_per_epoch)`.
    """
    if plan is None:
        plan = RunPlan.from_recipe(recipe, datasets.num_examples["train"], strategy.num_replicas_in_sync,
                                   batch_size=global_batch_size)
    schedule = build_schedule(plan.schedule_spec(recipe.schedule), plan.learning_rate, plan.steps_per_epoch,
                              plan.epochs)
    with strategy.scope():
        with dtype_policy(resolve_precision(recipe.training.precision, has_gpu=_has_gpu())):
            model = build_model(recipe, datasets.image_shape, datasets.num_classes)
        model.compile(
            optimizer=build_optimizer(recipe.optimizer, schedule, model=model),
            loss=build_loss(recipe.regularization, datasets.num_classes, plan.one_hot),
            metrics=["accuracy"],
            jit_compile=recipe.training.jit_compile,
            steps_per_execution=recipe.training.steps_per_execution)
    return model, plan.steps_per_epoch


def train_recipe(recipe, out_dir, strategy=None, verbose=1, extra_callbacks=(), export=True, data_fn=None):
    """Trains `recipe`, writes every artifact under `out_dir`, returns `TrainResult`.

    Artifacts: `recipe.yaml` (fully resolved), `history.csv`, `learning_curves.png`,
    `tensorboard/`, `best.keras`, `model.keras`, `serving/<version>/` (SavedModel),
    `metrics.json`. Re-running with the same `out_dir` resumes from `backup/`
    when the recipe keeps backups. `data_fn(recipe, global_batch_size, image_fn=None,
    batch_fn=None) -> Datasets` replaces `load_recipe_datasets` (the TFX Trainer
    passes one that reads its TFRecords).
    """
    if recipe.model.name == "backbone" and recipe.transfer is not None and recipe.transfer.mode == "two_phase":
        return train_transfer(recipe, out_dir, strategy, verbose, extra_callbacks, export, data_fn=data_fn,
                              train_fn=train_recipe)  # runs both phases, each through train_recipe
    out_dir = os.path.abspath(out_dir)
    run_dir.prepare_run_dir(out_dir, recipe)  # refuses a directory that holds another recipe's run
    os.makedirs(out_dir, exist_ok=True)
    keras.utils.set_random_seed(recipe.seed)
    strategy = strategy or tf.distribute.get_strategy()
    replicas = strategy.num_replicas_in_sync
    paths = {"recipe": save_recipe(recipe, os.path.join(out_dir, "recipe.yaml"))}

    datasets = load_augmented_datasets(recipe, plan_global_batch_size(recipe, replicas), data_fn)
    plan = RunPlan.from_recipe(recipe, datasets.num_examples["train"], replicas)
    n = recipe.training.ensemble_members
    members, fits, member_dirs = [], [], []
    for i in range(n):
        member_recipe = recipe if n == 1 else with_overrides(recipe, {"seed": plan.member_seeds[i]})
        member_dir = out_dir if n == 1 else os.path.join(out_dir, f"member_{i}")
        member_dirs.append(member_dir)
        if n > 1 and verbose:
            print(f"deeprob: ensemble member {i + 1}/{n} (seed {member_recipe.seed})", flush=True)
        fit = _fit_one(member_recipe, member_dir, datasets, strategy, plan, extra_callbacks, verbose)
        members.append(fit.model)
        fits.append(fit)
    model = _final_model(recipe, members, fits[0].snapshots)
    test_loss, test_acc = model.evaluate(datasets.test, verbose=0)[:2]
    # Each single model's accuracy, to compare with the ensemble / TTA it is part of.
    member_accuracy = [float(test_acc)] if model is members[0] else [
        float(m.evaluate(datasets.test, verbose=0)[1]) for m in members]
    histories = [f.history for f in fits]
    epoch_seconds = [s for h in histories for s in h.history.get("epoch_seconds", [])]
    history = histories[0]
    metrics = {
        "test_accuracy": float(test_acc), "test_loss": float(test_loss),
        "member_test_accuracy": member_accuracy,
        "snapshots": len(fits[0].snapshots),
        # history.epoch counts from the resumed epoch after a crash: report the run's total.
        "epochs_run": (history.epoch[-1] + 1) if history.epoch else 0,
        "seconds_per_epoch": float(np.median(epoch_seconds)) if epoch_seconds else None,
        "train_seconds": sum(f.seconds for f in fits), "replicas": replicas,
        "num_examples": datasets.num_examples, "parameters": int(members[0].count_params()),
        "plan": dataclasses.asdict(plan),
    }
    paths["model"] = os.path.join(out_dir, "model.keras")
    model.save(paths["model"])
    for name in ("history.csv", "learning_curves.png", "best.keras", "tensorboard"):
        if os.path.exists(os.path.join(out_dir, name)):
            paths[os.path.splitext(name)[0]] = os.path.join(out_dir, name)
    if export:
        raw_shape = tuple(datasets.train_arrays[0].shape[1:])
        paths["saved_model"] = export_serving_version(
            model, os.path.join(out_dir, "serving"), version=run_dir.serving_version(out_dir),
            raw_image_shape=raw_shape,
            image_size=recipe.data.image_size, channels=recipe.data.channels,
            class_names=datasets.class_names, input_shape=datasets.image_shape)
    paths["metrics"] = os.path.join(out_dir, "metrics.json")
    with open(paths["metrics"], "w") as f:
        json.dump({**metrics, "paths": paths}, f, indent=2)
    run_dir.finish(out_dir, member_dirs)  # complete: backup/ and the fitted weights are no longer needed
    return TrainResult(model=model, history=history.history, metrics=metrics, paths=paths, recipe=recipe)
