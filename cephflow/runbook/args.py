"""Check a step's (or a lookup's) arguments against the declared, typed parameters.

Names are checked once per step (unknown, missing); values are checked with a cached
``pydantic.TypeAdapter`` per parameter type, and normalised to what the task will receive
(``"3"`` for an ``int`` becomes ``3``). Secret arguments are checked but kept as given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from cephflow.runbook.catalog import ParamSpec
from cephflow.runbook.messages import EXPECTED, shown
from cephflow.suggest import did_you_mean

_ADAPTERS: dict[Any, TypeAdapter[Any] | None] = {}

def _adapter(annotation: Any) -> TypeAdapter[Any] | None:
    try:
        return _ADAPTERS[annotation]
    except KeyError:
        pass
    except TypeError:  # unhashable annotation: build one each time
        return TypeAdapter(annotation)
    adapter: TypeAdapter[Any] | None
    adapter = None if annotation is Any else TypeAdapter(annotation)
    _ADAPTERS[annotation] = adapter
    return adapter


def name_problems(
    given: Iterable[str], params: Mapping[str, ParamSpec]
) -> list[tuple[str, str | None, str | None]]:
    """(message, offending key or None, hint) for unknown and missing argument names."""
    given = list(given)
    result: list[tuple[str, str | None, str | None]] = []
    for name in given:
        if name not in params:
            result.append((f"unknown argument {name!r}", name, did_you_mean(name, params)))
    for name, spec in params.items():
        if spec.required and name not in given:
            result.append((f"missing argument {name!r}", None, None))
    return result


def check_value(spec: ParamSpec, value: Any) -> Any:
    """``value`` as the task receives it; ValueError with an operator's message otherwise."""
    adapter = _adapter(spec.annotation)
    if adapter is None:
        return value
    try:
        validated = adapter.validate_python(value)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = "".join(f"[{p}]" for p in err["loc"])
        expected = EXPECTED.get(err["type"], err["msg"])
        got = shown(value if not where else err.get("input"))
        raise ValueError(f"argument {spec.name!r}{where}: {expected}, got {got}") from None
    if spec.secret:
        return value
    if validated is value or type(validated) in (int, float, str, bool) and validated == value:
        return validated
    try:
        return adapter.dump_python(validated, mode="json")
    except Exception:  # noqa: BLE001 - an exotic type: keep what the runbook gave
        return value
