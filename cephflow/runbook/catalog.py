"""What the compiler knows of tasks and lookups: names and typed parameters, no code to run.

The engine's ``@task`` decorator (``cephflow.engine.registry``) builds a ``TaskSpec`` from a
function's signature and records it in ``CATALOG``; the compiler checks every step's
``with:`` against it. Discover lookups (plan-time, read-only questions such as "which OSDs
live on this host") are registered in ``LOOKUPS`` the same way, by ``@lookup``.

This module imports neither Celery nor Redis, so the compiler stays pure.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from pydantic import SecretStr

_EMPTY = inspect.Parameter.empty


@dataclass(frozen=True)
class ParamSpec:
    """One argument of a task or lookup: its name, type and default."""

    name: str
    annotation: Any
    """A type usable with ``pydantic.TypeAdapter`` (int, float, str, list[int], ...)."""
    required: bool
    default: Any = None
    secret: bool = False
    """Redacted in plans, events and status (an argument whose type is ``SecretStr``)."""


@dataclass(frozen=True)
class TaskSpec:
    """A task as the compiler sees it."""

    name: str
    params: dict[str, ParamSpec]
    description: str = ""
    destructive: bool = False
    poll: bool = False
    """A waiting task: checks once and is re-scheduled until it succeeds or its timeout passes."""
    redo_on_resume: bool = False
    """Sets up something a ``finally`` step undoes (a silence, ``noout``): on resume, a
    succeeded node of it runs again when a step after it is re-run."""
    moves_data: bool = False
    """Makes Ceph move data (a weight, in/out, OSDs created or removed): a runbook with such
    a step moves data unless it says otherwise (``moves_data:``), and its pause freezes it."""
    extra: dict[str, Any] = field(default_factory=dict)


def params_from_signature(fn: Callable[..., Any], *, skip_first: bool) -> dict[str, ParamSpec]:
    """The keyword parameters of ``fn`` as ParamSpecs (the context argument skipped)."""
    hints = get_type_hints(fn)
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    if skip_first:
        params = params[1:]
    result: dict[str, ParamSpec] = {}
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        annotation = hints.get(p.name, Any)
        result[p.name] = ParamSpec(
            name=p.name,
            annotation=annotation,
            required=p.default is _EMPTY,
            default=None if p.default is _EMPTY else p.default,
            secret=annotation is SecretStr,
        )
    return result


@dataclass(frozen=True)
class LookupSpec:
    """A plan-time lookup: a read-only question whose answer later steps use."""

    name: str
    fn: Callable[..., Any]
    params: dict[str, ParamSpec]
    description: str = ""


CATALOG: dict[str, TaskSpec] = {}
"""Every registered task, by name."""

LOOKUPS: dict[str, LookupSpec] = {}
"""Every registered discover lookup, by name."""


def register_task(spec: TaskSpec) -> TaskSpec:
    CATALOG[spec.name] = spec
    return spec


def lookup(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(**args) -> JSON-able value`` as the discover lookup ``name``."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        LOOKUPS[name] = LookupSpec(
            name=name,
            fn=fn,
            params=params_from_signature(fn, skip_first=False),
            description=(inspect.getdoc(fn) or "").split("\n")[0],
        )
        return fn

    return decorate
