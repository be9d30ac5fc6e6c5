"""Argument checks shared by the schedules (Keras-style `ValueError` messages)."""

import math
import numbers


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def positive_number(name, value):
    """Returns `float(value)`; raises unless `value` is a finite number > 0."""
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"Expected a positive number. Received: {name}={value!r}")
    return float(value)


def positive_int(name, value, allow_zero=False):
    """Returns `int(value)`; raises unless `value` is an integer > 0 (>= 0 if allowed)."""
    if (not isinstance(value, numbers.Integral) or isinstance(value, bool)
            or value < 0 or (value == 0 and not allow_zero)):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"Expected a {kind} integer. Received: {name}={value!r}")
    return int(value)


def number_in_range(name, value, lo, hi, hi_open=False):
    """Returns `float(value)`; raises unless lo <= value <= hi (< hi if `hi_open`)."""
    ok = _is_number(value) and math.isfinite(value) and lo <= value and (
        value < hi if hi_open else value <= hi)
    if not ok:
        bracket = ")" if hi_open else "]"
        raise ValueError(
            f"Expected a number in [{lo}, {hi}{bracket}. Received: {name}={value!r}")
    return float(value)


def number_at_least(name, value, lo):
    """Returns `float(value)`; raises unless `value` is a finite number >= lo."""
    if not _is_number(value) or not math.isfinite(value) or value < lo:
        raise ValueError(f"Expected a number >= {lo}. Received: {name}={value!r}")
    return float(value)
