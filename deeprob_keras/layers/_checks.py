"""Argument checks shared by the regularization layers (delegating to `deeprob_keras.validation`)."""

from deeprob_keras import validation


def validate_rate(rate, name="rate"):
    """A drop probability in [0, 1), as a float."""
    return validation.number_in_range(name, rate, 0, 1, hi_open=True)


def validate_seed(seed, name="seed"):
    """None or an int (not a bool)."""
    return validation.optional_seed(name, seed)


def check_int(name, value, low):
    """`value` if it is an int >= `low` (not a bool), else a one-line ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"Expected an integer >= {low} for `{name}`. Received: {name}={value!r}")
    return value
