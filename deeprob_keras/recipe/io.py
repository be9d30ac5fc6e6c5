"""Reading and writing recipe files."""

import copy
import os

import yaml

from deeprob_keras.recipe.schema import Recipe
from deeprob_keras.recipe.validation import RecipeError, from_dict, to_dict


def recipe_from_dict(data, where="recipe"):
    """Validates a plain dict into a `Recipe` (raises `RecipeError`)."""
    return from_dict(Recipe, data, where)


class _UniqueKeyLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses a mapping key given twice (PyYAML keeps the last one)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: let SafeLoader report it
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None,
                    f"key {key!r} given twice (line {first.line + 1} and line {key_node.start_mark.line + 1}); "
                    f"keep one",
                    key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text, where):
    """Parses YAML `text` with duplicate keys refused; raises `RecipeError` naming `where`."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as e:
        raise RecipeError(f"{where}: not valid YAML: {' '.join(str(e).split())}") from None


def read_text_file(path, what="recipe file"):
    """The UTF-8 text of `path`; a missing, unreadable or undecodable file raises `RecipeError`."""
    if not os.path.exists(path):
        raise RecipeError(f"{what} not found: {path}")
    if os.path.isdir(path):
        raise RecipeError(f"{what} {path} is a directory; expected a YAML file")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise RecipeError(f"cannot read {what} {path}: {e.strerror or e}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise RecipeError(
            f"{what} {path}: not UTF-8 text (byte 0x{raw[e.start]:02x} at line {line}, "
            f"offset {e.start})") from None


def load_recipe(path):
    """Loads and validates a YAML recipe file.

    Refused with a `RecipeError` naming the file: a missing, unreadable or
    non-UTF-8 file, a directory, invalid YAML, a key given twice, an empty
    file (nothing but comments or blanks), and any invalid value.

    Args:
        path: the recipe's YAML file.

    Returns:
        A validated `Recipe`.

    Example:
        >>> recipe = load_recipe("recipes/fashion_mnist.yaml")
    """
    path = os.fspath(path)
    data = parse_yaml(read_text_file(path), path)
    if data is None:
        raise RecipeError(
            f"{path}: the recipe file is empty; write at least one section "
            "(e.g. `training: {epochs: 10}`) or `{}` for every default")
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
