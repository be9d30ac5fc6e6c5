"""Hyperparameter search over a recipe's `search_space` (KerasTuner)."""

from deeprob_keras.tuning.search_space import apply_hyperparameters, define_hyperparameters, validate_search_space
