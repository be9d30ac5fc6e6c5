"""A recipe's `search_space` as KerasTuner hyperparameters, and back into a recipe.

The lecture's hyperparameter search samples each knob independently (random
search beats grid search when only a few knobs matter), learning rates and
regularization strengths on a log scale: `lr = 10 ** uniform(log10(lo), log10(hi))`.
A recipe lists those knobs as `SearchParam`s (dotted recipe key, kind, range,
sampling); this module turns them into `keras_tuner.HyperParameters` entries
and writes sampled values back into a new, validated recipe.
"""

import numbers

from deeprob_keras.recipe import with_overrides
from deeprob_keras.recipe.choices import SEARCH_KINDS as KINDS, SEARCH_SAMPLINGS as SAMPLINGS


def _scalar(value):
    return isinstance(value, (bool, str, numbers.Number))


def validate_search_space(search_space):
    """Checks every `SearchParam` at once; raises `ValueError` naming the bad one.

    Args:
        search_space: list of `deeprob_keras.recipe.SearchParam`.

    Example:
        >>> validate_search_space(recipe.search_space)
    """
    errors = []
    seen = set()
    for i, p in enumerate(search_space):
        where = f"search_space[{i}] ({p.name or '<no name>'})"
        if not p.name:
            errors.append(f"{where}: expected a dotted recipe key in `name`, e.g. optimizer.learning_rate. "
                          f"Received: name={p.name!r}")
        if p.name in seen:
            errors.append(f"{where}: the name appears twice")
        seen.add(p.name)
        if p.kind not in KINDS:
            errors.append(f"{where}: expected kind in {list(KINDS)}. Received: kind={p.kind!r}")
        if p.sampling not in SAMPLINGS:
            errors.append(f"{where}: expected sampling in {list(SAMPLINGS)}. Received: sampling={p.sampling!r}")
        if p.kind == "choice":
            if not p.values or not all(_scalar(v) for v in p.values):
                errors.append(f"{where}: kind=choice needs a non-empty list of numbers, strings or booleans "
                              f"in `values`. Received: values={p.values!r}")
        elif p.kind in ("float", "int"):
            if p.min is None or p.max is None or not p.min < p.max:
                errors.append(f"{where}: kind={p.kind} needs min < max. Received: min={p.min}, max={p.max}")
            elif p.sampling == "log" and p.min <= 0:
                errors.append(f"{where}: sampling=log needs min > 0. Received: min={p.min}")
            elif p.kind == "int" and (p.min != int(p.min) or p.max != int(p.max)):
                errors.append(f"{where}: kind=int needs whole-number bounds. Received: min={p.min}, max={p.max}")
    if errors:
        raise ValueError("invalid search space:\n  " + "\n  ".join(errors))


def define_hyperparameters(hp, search_space):
    """Registers each `SearchParam` on `hp`; returns {dotted key: sampled value}.

    float -> `hp.Float(name, min, max, sampling)`, int -> `hp.Int(...)`,
    choice -> `hp.Choice(name, values)`; sampling "log" draws uniformly in
    log space, as the lecture recommends for learning rates and penalties.

    Args:
        hp: a `keras_tuner.HyperParameters` (inside a tuner's `build`), or any
            object with the same `Float`/`Int`/`Choice` methods.
        search_space: list of `deeprob_keras.recipe.SearchParam`.

    Returns:
        A dict mapping each dotted recipe key to the value `hp` returned.

    Example:
        >>> hp = keras_tuner.HyperParameters()
        >>> values = define_hyperparameters(hp, recipe.search_space)
        >>> trial_recipe = apply_hyperparameters(recipe, values)
    """
    validate_search_space(search_space)
    values = {}
    for p in search_space:
        sampling = "log" if p.sampling == "log" else "linear"
        if p.kind == "float":
            values[p.name] = hp.Float(p.name, float(p.min), float(p.max), sampling=sampling)
        elif p.kind == "int":
            values[p.name] = hp.Int(p.name, int(p.min), int(p.max), sampling=sampling)
        else:
            values[p.name] = hp.Choice(p.name, list(p.values))
    return values


def apply_hyperparameters(recipe, values):
    """A new recipe with `values` written at their dotted keys (validated).

    Args:
        recipe: a `deeprob_keras.recipe.Recipe`.
        values: {dotted key: value}, a `keras_tuner.HyperParameters` (its
            `.values` are used), or a dict as saved by the TFX Tuner
            (`{"values": {...}, ...}` from `HyperParameters.get_config()`).

    Returns:
        A new `Recipe`; `recipe` is left untouched. Raises `RecipeError` when a
        key or a value does not fit the recipe schema.

    Example:
        >>> best = apply_hyperparameters(recipe, {"optimizer.learning_rate": 0.01})
    """
    if hasattr(values, "values") and not isinstance(values, dict):
        values = values.values
    elif isinstance(values, dict) and isinstance(values.get("values"), dict) and "space" in values:
        values = values["values"]
    if not values:
        return recipe
    return with_overrides(recipe, dict(values))


def tuner_seed(seed):
    """The seed to give a KerasTuner tuner for a recipe's `seed`: `seed + 1`.

    KerasTuner's oracles take a false seed as none (`seed or random.randint(1, 10000)`), so a recipe's
    default seed 0, passed as is, drew other trials on every run. Shifted by one, every recipe seed,
    0 included, draws the same trials each run, and two recipe seeds never share a tuner seed.

    >>> tuner_seed(0), tuner_seed(41)
    (1, 42)
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"tuner_seed: expected a non-negative integer seed. Received: {seed!r}")
    return seed + 1
