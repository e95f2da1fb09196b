"""Each registered task (``@task("ceph.reweight")``) is a Celery task of the same name.

The Celery task is a thin wrapper: its message is ``(workflow_id, node_id, token)`` and it runs
the node through the same runner as ``cephflow.run_node`` (claim, call, complete), which reads
the node's task and arguments from Redis. Being a Celery task of its own name is what lets
``celery inspect registered`` and Flower show it, Celery's ``task_routes`` send it to a queue,
and a ``rate_limit`` pace it (``Settings.celery``). The engine's own timeouts (a step's
``timeout``) stay the runner's; no Celery time limit is set.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, signals

from cephflow.engine import dispatch, node_tasks
from cephflow.engine.registry import IMPLEMENTATIONS
from cephflow.errors import ConfigError
from cephflow.settings import CelerySettings
from cephflow.suggest import did_you_mean

log = logging.getLogger("cephflow.engine")

TASK_OPTIONS: dict[str, Any] = {"ignore_result": True, "acks_late": True,
                                "reject_on_worker_lost": True, "shared": False}
"""Every node task's options: acknowledged only once its run is recorded; registered on
this app only (a shared task would be added to every app made later, bound to this one)."""


def configure(app: Celery, celery: CelerySettings) -> None:
    """Apply the settings' routes to ``app`` (before it sends anything) and register the
    generic task and every task declared so far."""
    app.conf.task_routes = [{name: {"queue": queue} for name, queue in celery.task_routes.items()}]
    app.conf.cephflow_rate_limits = dict(celery.rate_limits)
    app.conf.cephflow_task_routes = dict(celery.task_routes)
    register_run_node(app)
    register_declared(app)


def register_run_node(app: Celery) -> None:
    """``cephflow.run_node``: runs whatever node its message names (older messages)."""
    if dispatch.TASK_NAME not in app.tasks:
        app.task(name=dispatch.TASK_NAME, **TASK_OPTIONS)(_runner(app))


def register_declared(app: Celery) -> list[str]:
    """Register a Celery task for each declared task not registered yet; returns their names.

    Called when the app is made and again once a worker has imported its task modules."""
    rates = getattr(app.conf, "cephflow_rate_limits", None) or {}
    added = []
    for name in IMPLEMENTATIONS:
        if name in app.tasks:
            continue
        app.task(name=name, rate_limit=rates.get(name), **TASK_OPTIONS)(_runner(app))
        added.append(name)
    return added


def check_names(celery: CelerySettings) -> None:
    """Refuse rate limits and exact routes that name no declared task (a typo would leave a
    task unpaced or unrouted without a word). Globs (``ceph.*``) are not checked."""
    named = [("celery.rate_limits", name) for name in celery.rate_limits]
    named += [("celery.task_routes", name) for name in celery.task_routes
              if not any(c in name for c in "*?[")]
    for setting, name in named:
        if name not in IMPLEMENTATIONS:
            raise ConfigError(f"setting {setting} names task {name!r}, which no task module "
                              "of this worker declares", hint=did_you_mean(name, IMPLEMENTATIONS))


def _runner(app: Celery) -> Any:
    def run(*args: Any, **kwargs: Any) -> None:
        from cephflow.engine.runner import run_message

        run_message(app, args, kwargs)

    return run


@signals.task_unknown.connect
def _undeclared(sender: Any = None, name: str | None = None, message: Any = None,
                **_: Any) -> None:
    """A node message naming a task this worker does not declare (its ``task_modules`` lack
    the module): Celery drops it; the node then fails saying so, as the runner fails a node
    whose task it cannot find, instead of being re-sent to the same end lease after lease."""
    app = getattr(sender, "app", None)
    if app is None or getattr(app.conf, "cephflow_redis_url", None) is None or not name \
            or name in IMPLEMENTATIONS:
        return
    try:
        args = tuple(message.decode()[0])  # protocol 2: [args, kwargs, embed]
    except Exception:  # noqa: BLE001 - not a node message: Celery's own log line says enough
        return
    if len(args) != 3 or not all(isinstance(a, str) for a in args):
        return
    from cephflow.engine.runner import engine_for, run_message

    engine = engine_for(app)
    [declared] = node_tasks.task_names(engine.client, engine.ns, args[0], [args[1]])
    if declared is None or declared in IMPLEMENTATIONS:
        return  # no such node, or one this worker runs: never run a task in the consumer
    log.error("workflow %s node %s: task %r is not declared by this worker's task modules",
              args[0], args[1], name)
    run_message(app, args, {})  # claims the node and fails it: "unknown task ... in this worker"
