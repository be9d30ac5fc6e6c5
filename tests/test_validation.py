"""deeprob_keras.validation: one message format, and the technique modules that delegate to it."""

import math
import re

import numpy as np
import pytest

from deeprob_keras import validation as v

FORMAT = re.compile(r"^Expected (?P<what>.+) for `(?P<name>\w+)`\. Received: (?P=name)=(?P<value>.+)$")


@pytest.mark.parametrize("call, what, shown", [
    (lambda: v.positive_number("lr", 0.0), "a positive number", "0.0"),
    (lambda: v.positive_number("lr", math.inf), "a positive number", "inf"),
    (lambda: v.positive_number("lr", True), "a positive number", "True"),
    (lambda: v.positive_number("lr", "0.1"), "a positive number", "'0.1'"),
    (lambda: v.number_at_least("mult", 0.5, 1.0), "a number >= 1.0", "0.5"),
    (lambda: v.number_in_range("rate", 1.0, 0, 1, hi_open=True), "a number in [0, 1)", "1.0"),
    (lambda: v.number_in_range("rate", 0.0, 0, 1, lo_open=True), "a number in (0, 1]", "0.0"),
    (lambda: v.number_in_range("rate", math.nan, 0, 1), "a number in [0, 1]", "nan"),
    (lambda: v.probability("p", 1.5), "a number in [0, 1]", "1.5"),
    (lambda: v.positive_int("steps", 0), "a positive integer", "0"),
    (lambda: v.positive_int("steps", 2.0), "a positive integer", "2.0"),
    (lambda: v.positive_int("steps", -1, allow_zero=True), "a non-negative integer", "-1"),
    (lambda: v.int_in_range("k", 1, 2), "an integer >= 2", "1"),
    (lambda: v.int_in_range("k", 9, 2, 8), "an integer in [2, 8]", "9"),
    (lambda: v.optional_seed("seed", 1.5), "an integer or None", "1.5"),
    (lambda: v.one_of("mode", "x", ("a", "b")), "one of ['a', 'b']", "'x'"),
])
def test_every_check_speaks_the_one_format(call, what, shown):
    with pytest.raises(ValueError) as info:
        call()
    match = FORMAT.match(str(info.value))
    assert match, str(info.value)
    assert (match["what"], match["value"]) == (what, shown)


def test_valid_values_come_back_normalised():
    assert v.positive_number("lr", np.float32(0.5)) == 0.5 and type(v.positive_number("lr", 1)) is float
    assert v.positive_int("steps", np.int64(3)) == 3 and type(v.positive_int("steps", np.int64(3))) is int
    assert v.positive_int("steps", 0, allow_zero=True) == 0
    assert v.number_in_range("rate", 0, 0, 1, hi_open=True) == 0.0
    assert v.number_in_range("rate", 1, 0, 1) == 1.0
    assert v.probability("p", 1) == 1.0
    assert v.int_in_range("k", 8, 2, 8) == 8 and v.int_in_range("k", 10**6, 2) == 10**6
    assert v.optional_seed("seed", None) is None and v.optional_seed("seed", 7) == 7
    assert v.one_of("mode", "a", ("a", "b")) == "a"


@pytest.mark.parametrize("call, name", [
    (lambda: __import__("deeprob_keras.layers._checks", fromlist=["x"]).validate_rate(1.0), "rate"),
    (lambda: __import__("deeprob_keras.layers._checks", fromlist=["x"]).validate_rate(-0.1, "max_rate"), "max_rate"),
    (lambda: __import__("deeprob_keras.layers._checks", fromlist=["x"]).validate_seed(True), "seed"),
    (lambda: __import__("deeprob_keras.schedules._checks", fromlist=["x"]).positive_int("decay_steps", 0),
     "decay_steps"),
    (lambda: __import__("deeprob_keras.augment._sampling", fromlist=["x"]).check_positive_float(0, "alpha"),
     "alpha"),
    (lambda: __import__("deeprob_keras.augment._sampling", fromlist=["x"]).check_probability(2, "probability"),
     "probability"),
])
def test_the_technique_checks_delegate(call, name):
    with pytest.raises(ValueError) as info:
        call()
    match = FORMAT.match(str(info.value))
    assert match and match["name"] == name, str(info.value)


def test_the_module_is_a_leaf():
    source = open(v.__file__).read()
    assert not re.search(r"^\s*(from|import)\s+deeprob_keras", source, re.M)
