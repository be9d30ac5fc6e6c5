"""Typed loading of nested dataclasses from plain dicts, with clear errors.

Every recipe section is a dataclass. `from_dict` walks the dict against the
dataclass fields: an unknown key names the closest valid key, a wrong type names
the expected type, and a field's `metadata` may carry `range=(lo, hi)`
(inclusive, `None` for open), `choices=(...)` or `check=callable`.
"""

import dataclasses
import difflib
import math
import types
import typing

from deeprob_keras.registry import unknown_choice_message


class RecipeError(ValueError):
    """A recipe (or one of its values) is invalid; the message says why."""


def _type_name(tp):
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is list:
        (arg,) = typing.get_args(tp) or (typing.Any,)
        return f"list of {_type_name(arg)}"
    if origin is dict:
        return "mapping"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _convert(value, tp, where):
    """Checks `value` against the annotation `tp`; returns the converted value."""
    origin = typing.get_origin(tp)
    if tp is typing.Any:
        return value
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        present = [a for a in args if a is not type(None)]
        if len(present) == 1:  # Optional[X]: X's own error is the clearest one
            return _convert(value, present[0], where)
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, where)
            except RecipeError as e:
                errors.append(e)
        raise RecipeError(
            f"{where}: expected {_type_name(tp)}. Received: {value!r}"
        )
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        return from_dict(tp, value, where)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise RecipeError(
                f"{where}: expected {_type_name(tp)}. Received: {value!r}"
            )
        (arg,) = typing.get_args(tp) or (typing.Any,)
        return [_convert(v, arg, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise RecipeError(f"{where}: expected a mapping. Received: {value!r}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise RecipeError(f"{where}: expected true or false. Received: {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecipeError(f"{where}: expected an integer. Received: {value!r}")
        return value
    if tp is float:
        received = value
        if isinstance(value, str):
            # YAML reads "1e-3" (no dot) as a string: accept numeric strings.
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecipeError(f"{where}: expected a number. Received: {received!r}")
        value = float(value)
        # Every comparison with NaN is false: without this, `.nan` would pass any range check.
        if not math.isfinite(value):
            raise RecipeError(f"{where}: expected a finite number. Received: {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise RecipeError(f"{where}: expected a string. Received: {value!r}")
        return value
    raise TypeError(f"unsupported annotation {tp!r} at {where}")


def _check_metadata(value, meta, where):
    if value is None:
        return
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise RecipeError(unknown_choice_message(where, value, choices))
    rng = meta.get("range")
    if rng is not None:
        lo, hi = rng
        lo_open = meta.get("lo_open", False)
        hi_open = meta.get("hi_open", False)
        values = value if isinstance(value, list) else [value]
        for v in values:
            bad = (
                (lo is not None and (v <= lo if lo_open else v < lo))
                or (hi is not None and (v >= hi if hi_open else v > hi))
            )
            if bad:
                left = "(" if lo_open else "["
                right = ")" if hi_open else "]"
                lo_s = "-inf" if lo is None else repr(lo)
                hi_s = "inf" if hi is None else repr(hi)
                raise RecipeError(
                    f"{where}: expected a value in {left}{lo_s}, {hi_s}{right}. "
                    f"Received: {value!r}"
                )
    check = meta.get("check")
    if check is not None:
        message = check(value)
        if message:
            raise RecipeError(f"{where}: {message}. Received: {value!r}")


def from_dict(cls, data, where="recipe"):
    """Builds dataclass `cls` from `data`, raising `RecipeError` on any problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: expected a mapping. Received: {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            hint = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.6)
            extra = f" Did you mean {hint[0]!r}?" if hint else ""
            raise RecipeError(
                f"{where}: unknown key {key!r}.{extra} "
                f"Allowed keys: {', '.join(sorted(fields))}"
            )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, field in fields.items():
        if name not in data:
            continue
        sub = f"{where}.{name}"
        value = _convert(data[name], hints[name], sub)
        _check_metadata(value, field.metadata, sub)
        kwargs[name] = value
    obj = cls(**kwargs)
    for name, field in fields.items():
        if name not in data:
            _check_metadata(getattr(obj, name), field.metadata, f"{where}.{name}")
    post = getattr(obj, "validate", None)
    if post is not None:
        try:
            post()
        except RecipeError:
            raise
        except ValueError as e:
            raise RecipeError(f"{where}: {e}") from None
    return obj


def to_dict(obj):
    """The plain-dict form of a dataclass tree (for YAML)."""
    return dataclasses.asdict(obj)


def spec(default=dataclasses.MISSING, *, default_factory=dataclasses.MISSING, doc="", **meta):
    """A dataclass field with validation metadata (`range`, `choices`, `check`)."""
    meta["doc"] = doc
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)
