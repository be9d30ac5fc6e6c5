"""`RecipeHyperModel`: the one KerasTuner hypermodel of a recipe.

The doctor's coarse search (`deeprob_keras/doctor/search.py`) and the TFX
Tuner (`deeprob_pipeline.trainer_module.tuner_fn`) both use it. A trial is the
recipe with the trial's sampled `search_space` values written into it
(`apply_hyperparameters`); its data, model, optimizer, schedule and loss come
from the library's one path (`load_augmented_datasets`, `RunPlan`,
`build_compiled_model`), so a trial trains exactly as `deeprob train` would.
"""

import keras
import keras_tuner
import tensorflow as tf

from deeprob_keras.callbacks import NonFiniteLossStop
from deeprob_keras.recipe import with_overrides
from deeprob_keras.training.plan import RunPlan, global_batch_size, label_form
from deeprob_keras.training.run import build_compiled_model, load_augmented_datasets
from deeprob_keras.tuning.search_space import apply_hyperparameters, define_hyperparameters


def trial_recipe(recipe, epochs):
    """`recipe` shortened to `epochs` (the run plan fits its warmup: training/plan.py)."""
    return with_overrides(recipe, {"training.epochs": epochs})


def _data_key(recipe):
    """What a recipe's datasets depend on: trials that agree on it can share the datasets."""
    return (recipe.data, recipe.augmentation, recipe.training.batch_size, recipe.seed, label_form(recipe))


class RecipeHyperModel(keras_tuner.HyperModel):
    """A KerasTuner hypermodel: each trial is the recipe with sampled `search_space` values.

    `build` samples the values, writes them into the recipe and compiles the
    trial's model through the run plan; `fit` trains it on the trial's data.
    When `datasets` is given (already loaded for `recipe`), a trial whose data
    knobs (data section, augmentation, batch size, seed, label form) equal the
    recipe's reuses them; any other trial loads its own through
    `load_augmented_datasets(trial_recipe, global_batch, data_fn)`, so batch
    size and augmentation can be searched too.

    Args:
        recipe: the base `Recipe`.
        search_space: list of `SearchParam`; default `recipe.search_space`.
            Must not be empty.
        datasets: optional `Datasets` of `recipe` (shared by the trials that can).
        data_fn: optional `(recipe, global_batch_size, image_fn=None,
            batch_fn=None) -> Datasets` (default: the recipe's `data` section
            through `load_recipe_datasets`; the TFX Tuner reads its TFRecords).
        epochs: optional epochs per trial; the recipe is shortened to them and
            `fit` trains that many whatever the tuner passes.
        strategy: optional `tf.distribute` strategy (default: the current one).
        log_prefix: optional; when set, `fit` prints `"<log_prefix> {values}"`.

    Example:
        >>> hypermodel = RecipeHyperModel(recipe, epochs=2)
        >>> tuner = keras_tuner.RandomSearch(hypermodel, objective="val_accuracy", max_trials=8)
        >>> tuner.search()   # each trial brings its own data
    """

    def __init__(self, recipe, search_space=None, datasets=None, data_fn=None, epochs=None, strategy=None,
                 log_prefix=None, name="recipe"):
        super().__init__(name=name)
        space = list(recipe.search_space if search_space is None else search_space)
        if not space:
            raise ValueError("Expected a non-empty search space (the recipe's `search_space` or the "
                             "`search_space` argument). Received: search_space=[]")
        self.recipe = recipe if epochs is None else trial_recipe(recipe, epochs)
        self.search_space = space
        self.datasets, self.data_fn, self.epochs = datasets, data_fn, epochs
        self.strategy, self.log_prefix = strategy, log_prefix
        self._trial = None

    def trial_datasets(self, recipe, replicas):
        """The `Datasets` a trial of `recipe` trains on (the shared ones when its data knobs match)."""
        if self.datasets is not None and _data_key(recipe) == _data_key(self.recipe):
            return self.datasets
        return load_augmented_datasets(recipe, global_batch_size(recipe, replicas), self.data_fn)

    def build(self, hp):
        values = define_hyperparameters(hp, self.search_space)
        recipe = apply_hyperparameters(self.recipe, values)
        keras.utils.set_random_seed(recipe.seed)
        strategy = self.strategy or tf.distribute.get_strategy()
        replicas = strategy.num_replicas_in_sync
        data = self.trial_datasets(recipe, replicas)
        plan = RunPlan.from_recipe(recipe, data.num_examples["train"], replicas)
        model, _ = build_compiled_model(recipe, data, strategy, plan=plan)
        self._trial = (values, data)
        return model

    def fit(self, hp, model, *args, **kwargs):
        """Trains on the trial's data (unless the tuner's `search` was given data) for `epochs`."""
        values, data = self._trial
        if self.log_prefix:
            print(f"{self.log_prefix} {values}", flush=True)
        kwargs["callbacks"] = list(kwargs.get("callbacks") or []) + [NonFiniteLossStop()]
        if self.epochs is not None:
            kwargs["epochs"] = self.epochs
        if not args and "x" not in kwargs:
            args = (data.train,)
            kwargs.setdefault("validation_data", data.validation)
        return model.fit(*args, **kwargs)
