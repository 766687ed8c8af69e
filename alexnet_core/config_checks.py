"""The checks a configuration runs on its values as it is made (config.ModelConfig and
TrainConfig call them in __post_init__): each raises ValueError naming the field, the value it
got and what it expected.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np

# What a field annotated with each type must hold, for messages.
KIND_NAMES = {"int": "a whole number", "float": "a finite number", "bool": "True or False",
              "str": "text"}  # fmt: skip


def check_types(config) -> None:
    """Raise ValueError for a field of the wrong type (a tuple field takes a tuple) or a number
    that is not finite, before any rule compares it; numpy numbers become Python ones, which
    JSON (config.json) can hold."""
    for field in dataclasses.fields(config):
        value, kind = getattr(config, field.name), str(field.type)
        many = kind.startswith("tuple[")
        item_kind = kind.removeprefix("tuple[").split(",")[0]
        items = value if many and isinstance(value, tuple) else (value,)
        if (many and not isinstance(value, tuple)) or not all(_is_a(item_kind, v) for v in items):
            expected = KIND_NAMES[item_kind]
            if many:
                expected = f"a tuple, each item {expected}"
            raise ValueError(f"{field.name}: got {value!r}, expected {expected}")
        plain = tuple(_plain(v) for v in value) if many else _plain(value)
        object.__setattr__(config, field.name, plain)  # frozen: only here, while it is made


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def check(config, *rules: tuple[str, bool, str]) -> None:
    """Raise ValueError for the first (field, ok, expected) rule that fails, naming the field."""
    for field_name, ok, expected in rules:
        if not ok:
            value = getattr(config, field_name)
            raise ValueError(f"{field_name}: got {value!r}, expected {expected}")


def each_conv_positive(config, field_name: str, what: str) -> tuple[str, bool, str]:
    """A check rule that names the first convolution whose `what` (e.g. 'stride') is below 1."""
    low = [i for i, n in enumerate(getattr(config, field_name), start=1) if n < 1]
    which = f" (conv{low[0]}'s is not)" if low else ""
    return (field_name, not low, f"at least 1 for each {what}{which}")


def _is_a(kind: str, value) -> bool:
    """Whether `value` fits a field annotated `kind` ('int', 'float', 'bool' or 'str')."""
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    if kind == "int":
        return isinstance(value, numbers.Integral)
    return math.isfinite(value)  # float: inf and nan are not settings
