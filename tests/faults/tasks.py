"""Test-only tasks of the fault tests whose effects must survive Redis itself failing.

``fault.effect`` appends its node's id to a file (not to Redis: a Redis out of memory or
away must not be where a test counts how often an effect ran), after waiting for the file
``release`` to exist when given: a step held running until the test has broken something.
Loaded in a test worker with ``WORKER_ENV``.
"""

from __future__ import annotations

import time
from pathlib import Path

from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from tests.fixtures.celery_worker import TEST_TASKS

WORKER_ENV = {"CEPHFLOW_EXTRA_TASK_MODULES": f"{TEST_TASKS},tests.faults.tasks"}
HOLD_LIMIT = 60.0


@task("fault.effect")
def effect(ctx: StepContext, *, log: str, release: str | None = None) -> None:
    """Wait for ``release`` (at most ``HOLD_LIMIT`` s), then append the node's id to ``log``."""
    deadline = time.monotonic() + HOLD_LIMIT
    while release and not Path(release).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{release} never appeared")
        time.sleep(0.05)
    with open(log, "a", encoding="utf-8") as out:
        out.write(ctx.node_id + "\n")


def effects(log: Path) -> list[str]:
    """The node ids of every effect so far, in order."""
    return log.read_text(encoding="utf-8").split() if log.exists() else []
