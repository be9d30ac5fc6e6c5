"""Mixed precision for one model build: `training.precision` of the recipe."""

import contextlib

import keras

from deeprob_keras.recipe.choices import PRECISIONS


@contextlib.contextmanager
def dtype_policy(name):
    """Builds the layers created inside with Keras's dtype policy `name`, then restores the previous one.

    `"mixed_bfloat16"`: variables stay float32, layers compute in bfloat16
    (no loss scaling needed: bfloat16 has float32's exponent range). The
    project's classifier always computes in float32.

    Args:
        name: `"float32"` or `"mixed_bfloat16"`.

    Example:
    >>> with dtype_policy("mixed_bfloat16"):
    ...     model = build_model(recipe, (28, 28, 1), 10)
    """
    if name not in PRECISIONS:
        raise ValueError(f"Expected `name` in {PRECISIONS}. Received: name={name!r}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
