"""Runbook parameter types and durations: parse a type name, coerce a value to it.

A parameter's ``type`` is one of ``str``, ``int``, ``float``, ``bool``, ``duration`` or
``list[T]`` of those. Values arrive as text (the command line) or as YAML/template values
(defaults, ``include ... with:``); ``coerce`` accepts both and returns the native value, or
raises ``ValueError`` with a message meant for the operator.

Durations are written ``90s``, ``30m``, ``2h``, ``1d``, ``1h30m`` or as plain seconds and
become seconds (an int when whole).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SCALARS = ("str", "int", "float", "bool", "duration")
TYPE_NAMES = (*SCALARS, *(f"list[{s}]" for s in SCALARS))

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TRUE = {"true", "yes", "on", "1", "y"}
_FALSE = {"false", "no", "off", "0", "n"}


@dataclass(frozen=True)
class ParamType:
    """A parsed type name: the scalar kind and whether it is a list of it."""

    scalar: str
    is_list: bool = False

    @property
    def name(self) -> str:
        return f"list[{self.scalar}]" if self.is_list else self.scalar


def parse_type(name: str) -> ParamType:
    """``"list[int]"`` -> ParamType("int", True); ValueError for anything else."""
    text = name.strip().replace(" ", "")
    match = re.fullmatch(r"list\[(\w+)\]", text)
    if match and match.group(1) in SCALARS:
        return ParamType(match.group(1), True)
    if text in SCALARS:
        return ParamType(text)
    raise ValueError(f"unknown type {name!r}")


def parse_duration(value: Any) -> int | float:
    """Seconds from ``30m``/``90s``/``2h``/``1h30m`` or a number; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 30m, got {value!r}")
    if isinstance(value, int | float):
        seconds: float = value
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            pos, seconds = 0, 0.0
            for match in _DURATION_PART.finditer(text):
                if text[pos : match.start()].strip():
                    break
                seconds += float(match.group(1)) * _UNITS[match.group(2)]
                pos = match.end()
            if pos == 0 or text[pos:].strip():
                raise ValueError(
                    f"expected a duration like 90s, 30m, 2h or 1h30m, got {value!r}"
                ) from None
    else:
        raise ValueError(f"expected a duration like 30m, got {value!r}")
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"a duration must be a finite number of seconds >= 0, got {value!r}")
    return int(seconds) if float(seconds).is_integer() else seconds


def _coerce_scalar(kind: str, value: Any) -> Any:
    if kind == "str":
        if isinstance(value, str):
            return value
        if isinstance(value, bool) or value is None or isinstance(value, list | dict):
            raise ValueError(f"expected text, got {value!r}")
        return str(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"expected true or false, got {value!r}")
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ValueError(f"expected an integer, got {value!r}")
    if kind == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                result = float(value.strip())
            except ValueError:
                pass
            else:
                if result == result and abs(result) != float("inf"):
                    return result
        raise ValueError(f"expected a number, got {value!r}")
    return parse_duration(value)


def coerce(ptype: ParamType, value: Any) -> Any:
    """``value`` as ``ptype``; a list type also accepts one scalar or comma-separated text."""
    if not ptype.is_list:
        return _coerce_scalar(ptype.scalar, value)
    if isinstance(value, str):
        items: list[Any] = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        items = [value]
    return [_coerce_scalar(ptype.scalar, item) for item in items]
