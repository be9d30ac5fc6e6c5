"""Argument validation with one message format, for every package of the library.

Modelled on Keras's `keras/src/utils/argument_validation.py`: small functions
that check one argument, return it normalised (`float`, `int`) and otherwise
raise a `ValueError` that names the argument, what was expected and what was
received, always in the same words:

    Expected <what> for `<name>`. Received: <name>=<value!r>

A leaf module: it imports nothing from the package, so technique packages
(layers, schedules, augment, ...) and the assembly may all use it.

Example:

>>> positive_int("epochs", 3)
3
>>> number_in_range("rate", 1.0, 0, 1, hi_open=True)
Traceback (most recent call last):
...
ValueError: Expected a number in [0, 1) for `rate`. Received: rate=1.0
"""

import math
import numbers


def error_message(name, value, what):
    """The one message format: "Expected <what> for `<name>`. Received: <name>=<value!r>"."""
    return f"Expected {what} for `{name}`. Received: {name}={value!r}"


def invalid(name, value, what):
    """A `ValueError` in the one format (for checks this module has no function for)."""
    return ValueError(error_message(name, value, what))


def is_number(value):
    """True for a real number (Python or NumPy), False for a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_int(value):
    """True for an integer (Python or NumPy), False for a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_number(name, value):
    """Returns `float(value)`; raises unless `value` is a finite number > 0."""
    if not is_number(value) or not math.isfinite(value) or value <= 0:
        raise invalid(name, value, "a positive number")
    return float(value)


def number_at_least(name, value, lo):
    """Returns `float(value)`; raises unless `value` is a finite number >= `lo`."""
    if not is_number(value) or not math.isfinite(value) or value < lo:
        raise invalid(name, value, f"a number >= {lo}")
    return float(value)


def number_in_range(name, value, lo, hi, lo_open=False, hi_open=False):
    """Returns `float(value)`; raises unless `value` is a finite number in the interval.

    The interval is [lo, hi]; `lo_open` / `hi_open` exclude an end: (lo, hi], [lo, hi).
    """
    ok = is_number(value) and math.isfinite(value) and (lo < value if lo_open else lo <= value) and (
        value < hi if hi_open else value <= hi)
    if not ok:
        raise invalid(name, value, f"a number in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}")
    return float(value)


def probability(name, value):
    """Returns `float(value)`; raises unless 0 <= value <= 1."""
    return number_in_range(name, value, 0, 1)


def positive_int(name, value, allow_zero=False):
    """Returns `int(value)`; raises unless `value` is an integer > 0 (>= 0 with `allow_zero`)."""
    if not is_int(value) or value < 0 or (value == 0 and not allow_zero):
        raise invalid(name, value, "a non-negative integer" if allow_zero else "a positive integer")
    return int(value)


def int_in_range(name, value, lo, hi=None):
    """Returns `int(value)`; raises unless `value` is an integer with lo <= value (<= hi when given)."""
    if not is_int(value) or value < lo or (hi is not None and value > hi):
        raise invalid(name, value, f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]")
    return int(value)


def optional_seed(name, value):
    """Returns `value`; raises unless it is None or an integer."""
    if value is not None and not is_int(value):
        raise invalid(name, value, "an integer or None")
    return value


def one_of(name, value, choices):
    """Returns `value`; raises unless it is one of `choices`."""
    if value not in choices:
        raise invalid(name, value, f"one of {list(choices)}")
    return value
