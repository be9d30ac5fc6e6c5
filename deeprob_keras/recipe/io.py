"""Reading and writing recipe files."""

import copy
import os

import yaml

from deeprob_keras.recipe.schema import Recipe
from deeprob_keras.recipe.validation import RecipeError, from_dict, to_dict


def recipe_from_dict(data, where="recipe"):
    """Validates a plain dict into a `Recipe` (raises `RecipeError`)."""
    return from_dict(Recipe, data, where)


def load_recipe(path):
    """Loads and validates a YAML recipe file."""
    if not os.path.exists(path):
        raise RecipeError(f"recipe file not found: {path}")
    with open(path) as f:
        try:
            data = yaml.safe_load(f)
        except yaml.YAMLError as e:
            raise RecipeError(f"{path}: not valid YAML: {e}") from None
    return recipe_from_dict(data, where=os.path.basename(path))


def save_recipe(recipe, path):
    """Writes the fully resolved recipe (every default filled in) as YAML."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        yaml.safe_dump(to_dict(recipe), f, sort_keys=False)
    return path


def with_overrides(recipe, overrides):
    """A new recipe with dotted-key overrides, e.g. {"training.epochs": 3}."""
    data = copy.deepcopy(to_dict(recipe))
    for key, value in overrides.items():
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise RecipeError(f"override {key!r}: {part!r} is not a recipe section")
            node = node[part]
        if parts[-1] not in node:
            raise RecipeError(f"override {key!r}: unknown key {parts[-1]!r}")
        node[parts[-1]] = value
    return recipe_from_dict(data)
