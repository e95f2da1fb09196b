"""Resolve a runbook's params: given values (command line or ``include ... with:``) coerced to
their declared types, defaults applied, unknown and missing ones reported.

Messages name the param and never echo a secret param's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cephflow.runbook import types
from cephflow.runbook.model import ParamDecl, RunbookDecl
from cephflow.suggest import did_you_mean


def resolve_params(
    decl: RunbookDecl, given: Mapping[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Declared params with ``given`` values (coerced) or defaults; what is wrong, as
    ``(param name, message)`` pairs so callers can point at the param's declaration."""
    values: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for name in given:
        if name not in decl.params:
            hint = did_you_mean(name, decl.params)
            errors.append((name, f"unknown param {name!r}" + (f" ({hint})" if hint else "")))
    for name, p in decl.params.items():
        raw = given.get(name)
        if raw is None:
            raw = p.default
        if raw is None:
            if p.is_required:
                errors.append((name, f"missing param {name!r}" + (f": {p.help}" if p.help else "")))
            else:
                values[name] = [] if p.ptype.is_list else None
            continue
        try:
            value = types.coerce(p.ptype, raw)
        except ValueError as exc:
            if p.secret:  # never echo a secret, not even a mistyped one
                errors.append((name, f"param {name!r}: not a valid {p.type} (value hidden: secret)"))
            else:
                errors.append((name, f"param {name!r}: {exc}"))
            continue
        if p.choices:
            allowed = [types.coerce(types.ParamType(p.ptype.scalar), c) for c in p.choices]
            for v in value if p.ptype.is_list else [value]:
                if v not in allowed:
                    shown = "the value given" if p.secret else repr(v)
                    errors.append((name, f"param {name!r}: {shown} is not one of "
                                   + ", ".join(repr(a) for a in allowed)))
        errors.extend((name, message) for message in _out_of_range(name, p, value))
        values[name] = value
    return values, errors


def _out_of_range(name: str, p: ParamDecl, value: Any) -> list[str]:
    """What breaks the param's ``min``/``max``, one message per value given."""
    problems = []
    for v in value if p.ptype.is_list else [value]:
        if not isinstance(v, int | float) or isinstance(v, bool):
            continue
        shown = "the value given" if p.secret else f"{v:g}"
        if p.min is not None and v < p.min:
            problems.append(f"param {name!r}: {shown} is less than the minimum {p.min:g}")
        elif p.max is not None and v > p.max:
            problems.append(f"param {name!r}: {shown} is more than the maximum {p.max:g}")
    return problems
