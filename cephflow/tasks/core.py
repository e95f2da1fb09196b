"""Generic tasks every runbook may use: wait a while, log a line, fail on purpose, nothing,
give back a value as an output.

``core.sleep`` waits without holding a worker slot: it is a poll task that notes when it
started and asks to be checked again until its time is up. ``core.fail`` exists so a runbook
(or a test) can exercise failure, retries and ``finally`` steps deliberately.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.errors import StepError, StepFailed
from cephflow.task_names import NOOP_TASK

log = logging.getLogger("cephflow.tasks.core")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}


@task("core.sleep", poll=True)
def sleep(ctx: StepContext, *, seconds: float) -> dict[str, Any]:
    """Wait ``seconds`` without holding a worker slot (re-checked until the time is up).

    The wait counts from when the step started (``ctx.started_at``), not from a memo: the
    engine starts that clock afresh when a workflow is resumed, so a resumed wait waits in
    full again instead of ending at once.
    """
    left = min(ctx.started_at + seconds - ctx.now(), seconds)
    if left > 0:
        ctx.not_yet(f"{_seconds(left)} left of {_seconds(seconds)}", countdown=min(left, 5.0))
    ctx.progress(f"waited {_seconds(seconds)}")
    return {"slept": seconds}


def _seconds(value: float) -> str:
    """``3.6s``, ``45s``: tenths below ten seconds, whole seconds above, never rounded up
    past the wait itself (``4s left of 3.6s`` was a lie of ``:.0f``)."""
    return f"{value:.1f}s" if value < 10 else f"{math.floor(value)}s"


@task("core.log")
def log_message(ctx: StepContext, *, message: str, level: str = "info") -> dict[str, Any]:
    """Log ``message`` and show it as the step's progress."""
    log.log(_LEVELS.get(level.lower(), logging.INFO), "%s: %s", ctx.workflow_id, message)
    ctx.progress(message)
    return {"message": message}


@task(NOOP_TASK)
def noop(ctx: StepContext) -> dict[str, Any]:
    """Do nothing: the barrier the compiler puts between two fan-outs (``work[*]``)."""
    return {}


@task("core.echo")
def echo(ctx: StepContext, *, value: dict[str, Any]) -> dict[str, Any]:
    """Return ``value`` as the step's output: a runbook author can try ``steps.<name>``
    templates (and ``if:``, a ``foreach`` over an output) without a cluster."""
    return value


@task("core.fail")
def fail(ctx: StepContext, *, message: str = "failed on purpose", retryable: bool = False,
         attempts_before_success: int = 0) -> dict[str, Any]:
    """Fail with ``message`` (retryable or not); succeed from try ``attempts_before_success + 1``.

    ``attempts_before_success: 0`` (the default) never succeeds.
    """
    if attempts_before_success and ctx.attempt > attempts_before_success:
        return {"attempt": ctx.attempt}
    if retryable:
        raise StepError(message)
    raise StepFailed(message)
