"""The task registry: ``@task`` declares a task once, with its name and typed parameters.

The declaration gives the compiler a ``TaskSpec`` (in ``cephflow.runbook.catalog.CATALOG``)
and the engine the function to call (``IMPLEMENTATIONS``). The engine turns each entry into
a Celery task whose messages carry only ``(workflow_id, node_id)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from cephflow.runbook.catalog import TaskSpec, params_from_signature, register_task

F = TypeVar("F", bound=Callable[..., Any])

IMPLEMENTATIONS: dict[str, Callable[..., Any]] = {}
"""Task name -> function(ctx, **args)."""


def task(name: str, *, destructive: bool = False, poll: bool = False) -> Callable[[F], F]:
    """Declare ``fn(ctx, **args)`` as the task ``name``.

    ``destructive`` tasks are marked in plans; ``poll`` tasks wait by calling
    ``ctx.not_yet()`` and are re-scheduled until they return or time out.
    """

    def decorate(fn: F) -> F:
        register_task(
            TaskSpec(
                name=name,
                params=params_from_signature(fn, skip_first=True),
                description=(inspect.getdoc(fn) or "").split("\n")[0],
                destructive=destructive,
                poll=poll,
            )
        )
        IMPLEMENTATIONS[name] = fn
        return fn

    return decorate
