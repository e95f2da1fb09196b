"""The task registry: ``@task`` declares a task once, with its name and typed parameters.

The declaration gives the compiler a ``TaskSpec`` (in ``cephflow.runbook.catalog.CATALOG``)
and the engine the function to call (``IMPLEMENTATIONS``). The engine turns each entry into
a Celery task whose messages carry only ``(workflow_id, node_id)``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from cephflow.runbook.catalog import TaskSpec, params_from_signature, register_task

F = TypeVar("F", bound=Callable[..., Any])

IMPLEMENTATIONS: dict[str, Callable[..., Any]] = {}
"""Task name -> function(ctx, **args)."""

WORKER_CHECKS: list[Callable[[Any], None]] = []
"""Checks a worker runs on its settings once its task modules are loaded (``worker_check``)."""


def task(name: str, *, destructive: bool = False, poll: bool = False,
         redo_on_resume: bool = False, moves_data: bool = False) -> Callable[[F], F]:
    """Declare ``fn(ctx, **args)`` as the task ``name``.

    ``destructive`` tasks are marked in plans; ``poll`` tasks wait by calling
    ``ctx.not_yet()`` and are re-scheduled until they return or time out.
    ``redo_on_resume`` tasks set up what a ``finally`` step undoes (a silence, ``noout``):
    ``resume`` runs a succeeded one again before the steps after it that are re-run.
    ``moves_data`` tasks make Ceph move data: a runbook using one moves data (unless it says
    ``moves_data: false``), and pausing its workflow freezes the movement.
    """

    def decorate(fn: F) -> F:
        register_task(
            TaskSpec(
                name=name,
                params=params_from_signature(fn, skip_first=True),
                description=(inspect.getdoc(fn) or "").split("\n")[0],
                destructive=destructive,
                poll=poll,
                redo_on_resume=redo_on_resume,
                moves_data=moves_data,
            )
        )
        IMPLEMENTATIONS[name] = fn
        return fn

    return decorate


def worker_check(fn: F) -> F:
    """Declare ``fn(settings)`` a check every worker passes before it takes a message.

    Task modules declare what their tasks need of the configuration (e.g. that Ceph commands
    and host operations reach one cluster); a check raises a ``CephflowError`` to refuse.
    """
    WORKER_CHECKS.append(fn)
    return fn


def import_task_modules(names: Iterable[str]) -> None:
    """Import each named module, and every module of a named package, so its tasks register.

    The engine names no task module itself: whoever starts a worker (the ``task_modules``
    setting) or fills the compiler's catalog says which. Modules whose name starts with ``_``
    are left out; importing twice does nothing more.
    """
    for name in names:
        module = importlib.import_module(name)
        path = getattr(module, "__path__", None)
        if path is None:
            continue
        for info in pkgutil.walk_packages(path, prefix=f"{name}."):
            if not info.name.rpartition(".")[2].startswith("_"):
                importlib.import_module(info.name)
