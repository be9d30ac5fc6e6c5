"""The TFX Trainer's `run_fn` and the Tuner's `tuner_fn`: thin calls into the library.

`custom_config` (set by `create_pipeline`) carries:
- `recipe`: the fully resolved recipe as a dict (validated again here), so a
  container on Kubeflow needs no recipe file;
- `recipe_path`: where it came from (for the record);
- `class_names`: the class names, in label order;
- `tuner_epochs`, `tuner_trials`: the Tuner's budget.
"""

import time

import keras_tuner
import tensorflow as tf
from tfx.components.tuner.component import TunerFnResult

from deeprob_keras.quiet import verbose_requested
from deeprob_keras.recipe import recipe_from_dict
from deeprob_keras.training import export_saved_model, train_recipe
from deeprob_keras.training.strategy import choose_strategy
from deeprob_keras.tuning import apply_hyperparameters, tuner_seed
from deeprob_keras.tuning.hypermodel import RecipeHyperModel
from deeprob_pipeline.tfrecord_data import expand_patterns, sample_arrays, tfrecord_datasets


def recipe_from_fn_args(fn_args):
    """The recipe in `custom_config`, with the Tuner's best hyperparameters applied (if any)."""
    config = fn_args.custom_config or {}
    if "recipe" not in config:
        raise ValueError("custom_config must hold the resolved recipe under 'recipe'. "
                         f"Received keys: {sorted(config)}")
    recipe = recipe_from_dict(config["recipe"], where=config.get("recipe_path", "recipe"))
    if getattr(fn_args, "hyperparameters", None):
        recipe = apply_hyperparameters(recipe, fn_args.hyperparameters)
        applied = {p.name: _get(recipe, p.name) for p in recipe.search_space}
        print(f"deeprob pipeline: best hyperparameters applied: {applied}", flush=True)
    return recipe


def _get(recipe, dotted):
    node = recipe
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def _data_fn(fn_args):
    names = fn_args.custom_config["class_names"]

    def data_fn(recipe, global_batch_size, image_fn=None, batch_fn=None):
        return tfrecord_datasets(recipe, fn_args.train_files, fn_args.eval_files, names,
                                 global_batch_size, image_fn, batch_fn)
    return data_fn


def strategy_name(strategy):
    """'MirroredStrategy, 2 replica(s)', or 'one device (default strategy)', for the Trainer's line."""
    if strategy is tf.distribute.get_strategy() and not tf.distribute.has_strategy():
        return "one device (default strategy)"
    return f"{type(strategy).__name__}, {strategy.num_replicas_in_sync} replica(s)"


def run_fn(fn_args, strategy=None):
    """TFX Trainer entry point: trains the recipe under its strategy, exports the SavedModel.

    The strategy is `custom_config["strategy"]` (the pipeline config's `trainer_strategy`), chosen as
    `deeprob train --strategy` chooses: by default `MirroredStrategy` over the Trainer's GPUs when it
    has two or more, else the one device. A MirroredStrategy of one replica does the same work at
    1.2-1.3x the step time on one CPU (`benchmarks/strategy_fresh_process.py`); "mirrored" asks for it anyway.
    A two_phase transfer recipe runs both phases (head on the frozen backbone, then fine-tuning), each
    on the Trainer's TFRecords under the same strategy. `strategy` (tests) replaces the chosen one.

    Artifacts of the run (recipe.yaml, history.csv, model.keras, TensorBoard
    logs) go to `fn_args.model_run_dir`; the serving SavedModel (signatures
    `serving_default` and `serving_images`) to `fn_args.serving_model_dir`.
    """
    recipe = recipe_from_fn_args(fn_args)
    strategy = strategy or choose_strategy((fn_args.custom_config or {}).get("strategy", "auto"))
    what = f"{recipe.training.epochs} epoch(s)"
    if recipe.model.name == "backbone" and recipe.transfer is not None:
        what = (f"transfer from {recipe.transfer.backbone} ({recipe.transfer.mode}"
                + (f": {recipe.transfer.feature_extraction_epochs} epoch(s) head only, then "
                   f"{recipe.training.epochs} fine-tuning" if recipe.transfer.mode == "two_phase"
                   else f", {recipe.training.epochs} epoch(s)") + ")")
    print(f"deeprob pipeline: Trainer: {recipe.name!r}, {strategy_name(strategy)}, {what}", flush=True)
    started = time.time()
    result = train_recipe(recipe, fn_args.model_run_dir, strategy=strategy, verbose=2, export=False,
                          data_fn=_data_fn(fn_args))
    trained = time.time()
    raw_images, _ = sample_arrays(expand_patterns(fn_args.train_files), limit=1)  # the raw image shape only
    export_saved_model(result.model, fn_args.serving_model_dir, raw_image_shape=tuple(raw_images.shape[1:]),
                       image_size=recipe.data.image_size, channels=recipe.data.channels,
                       class_names=list(fn_args.custom_config["class_names"]))
    exported = time.time()
    phases = result.metrics.get("phases")
    if phases and len(phases) > 1:
        print("deeprob pipeline: Trainer: accuracy on eval after each phase: "
              + ", ".join(f"{k} {v:.4f}" for k, v in phases.items()), flush=True)
    print(f"deeprob pipeline: Trainer: accuracy on eval {result.metrics['test_accuracy']:.4f}; trained and "
          f"evaluated in {trained - started:.0f} s, exported in {exported - trained:.0f} s; "
          f"SavedModel: {fn_args.serving_model_dir}", flush=True)


class PipelineRandomSearch(keras_tuner.RandomSearch):
    """KerasTuner's `RandomSearch`, reporting in the pipeline's lines: one for the search space, one for
    the best trial; each trial prints its hyperparameters and epochs (`RecipeHyperModel`). KerasTuner's
    own banners and tables (~15 lines a trial; TFX calls both summaries) show with `--verbose` or
    `DEEPROB_VERBOSE=1`.
    """

    def on_search_begin(self):
        if not verbose_requested():
            self.oracle.verbose = 0  # the per-trial display; `fit` keeps its own `verbose`
        super().on_search_begin()

    def search_space_summary(self, extended=False):
        if verbose_requested():
            return super().search_space_summary(extended)
        names = [hp.name for hp in self.oracle.hyperparameters.space]
        print(f"deeprob pipeline: Tuner: random search over {names}, {self.oracle.max_trials} trial(s)", flush=True)

    def results_summary(self, num_trials=10):
        if verbose_requested():
            return super().results_summary(num_trials)
        best = self.oracle.get_best_trials(1)
        if not best or best[0].score is None:
            print("deeprob pipeline: Tuner: no trial finished", flush=True)
            return
        print(f"deeprob pipeline: Tuner: best {self.oracle.objective.name} {best[0].score:.4f} of "
              f"{len(self.oracle.trials)} trial(s): {best[0].hyperparameters.values}", flush=True)


def tuner_fn(fn_args):
    """TFX Tuner entry point: a KerasTuner RandomSearch over the recipe's `search_space`.

    For a two_phase transfer recipe each trial trains the new head on the frozen
    backbone (phase 1), so the default search space is the head's learning rate;
    the Trainer's fine-tuning phase then runs at `lr_factor` x the best one.
    """
    config = fn_args.custom_config
    recipe = recipe_from_fn_args(fn_args)
    if not recipe.search_space:
        raise ValueError("the Tuner needs a non-empty recipe search_space (or the pipeline "
                         "config's search_space). Received: search_space=[]")
    hypermodel = RecipeHyperModel(recipe, data_fn=_data_fn(fn_args), epochs=int(config.get("tuner_epochs", 1)),
                                  log_prefix="deeprob pipeline: Tuner trial", name="deeprob_recipe")
    tuner = PipelineRandomSearch(
        hypermodel, objective="val_accuracy", max_trials=int(config.get("tuner_trials", 2)),
        seed=tuner_seed(recipe.seed), directory=fn_args.working_dir, project_name="deeprob_random_search",
        overwrite=True)
    return TunerFnResult(tuner=tuner, fit_kwargs={"verbose": 2})


