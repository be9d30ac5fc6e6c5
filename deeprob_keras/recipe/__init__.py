"""Recipes as data: load, validate, override and save training recipes."""

from deeprob_keras.recipe.io import load_recipe, recipe_from_dict, save_recipe, with_overrides
from deeprob_keras.recipe.schema import (
    AugmentationSpec, CallbacksSpec, DataSpec, ModelSpec, OptimizerSpec, Recipe,
    RegularizationSpec, ScheduleSpec, SearchParam, TrainingSpec, TransferSpec)
from deeprob_keras.recipe.validation import RecipeError
