"""Hyperparameter search over a recipe's `search_space` (KerasTuner)."""

from deeprob_keras.tuning.search_space import (apply_hyperparameters, define_hyperparameters, tuner_seed,
                                               validate_search_space)


def __getattr__(name):
    # RecipeHyperModel needs KerasTuner (and the training path): it loads on first use.
    if name in ("RecipeHyperModel", "trial_recipe"):
        from deeprob_keras.tuning import hypermodel

        return getattr(hypermodel, name)
    raise AttributeError(f"module 'deeprob_keras.tuning' has no attribute {name!r}")
