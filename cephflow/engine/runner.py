"""Running one node message in a worker: claim, call the task, record how it ended.

The message is ``(workflow_id, node_id, token)``. The run first claims the node with its
token, so a duplicate or redelivered message does nothing. The outcome decides the next
transition: success or failure (``complete``), not yet or retry (``reschedule`` with a
countdown: a waiting step never holds a worker slot). Whatever the scripts return to send is
sent by this caller only.

The workflow's secret values come with the claim: the run masks them (``cephflow.masking``)
in the error and result it records, the step's context masks them in its progress and facts,
and the process's log masking hides them in every log line from then on.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from celery import Celery

from cephflow.engine import dispatch, keys, late, node_tasks
from cephflow.engine.connection import redis_client
from cephflow.engine.context import EngineClock, NotYet, StepContext
from cephflow.engine.context_backend import RedisContextBackend
from cephflow.engine.registry import IMPLEMENTATIONS, import_task_modules
from cephflow.engine.scripts import Claimed, Transitions
from cephflow.errors import ConfigError, EngineError, StepFailed
from cephflow.masking import LOG_MASKING, Masker
from cephflow.runbook.catalog import CATALOG
from cephflow.runbook.dag import RetryPolicy
from cephflow.settings import Settings, get_settings
from cephflow.settings_sources import EXTRA_TASK_MODULES_VARIABLE

log = logging.getLogger("cephflow.engine")


class StepTimeout(BaseException):  # noqa: N818 - BaseException: a task's `except Exception` keeps out
    """Raised by the timer inside a task that runs past its deadline."""


class Engine:
    """Per-process engine handles: Redis client, scripts, context backend, heartbeat."""

    def __init__(self, app: Celery, settings: Settings, redis_url: str):
        self.app = app
        self.settings = settings
        self.ns = settings.namespace
        self.client = redis_client(redis_url)
        self.transitions = Transitions(self.client, self.ns, settings.lease_seconds)
        self.backend = RedisContextBackend(self.client, self.transitions, self.ns,
                                           settings.redis_wait_replicas)
        self.current: tuple[str, str, float] | None = None
        """(workflow, node, time.monotonic() at its start) of the node running now."""
        self._heartbeat: threading.Thread | None = None
        self._per_runbook: dict[str, Settings] = {}
        self.holder_id = keys.holder_id(socket.gethostname(), os.getpid())
        """Who this process is to the claim and beat scripts, which record what it claims
        under ``keys.holder`` (see ``reconciler.relet_orphans``)."""
        LOG_MASKING.install()

    def settings_for(self, runbook: str, cluster: str = "") -> Settings:
        """The settings a step of ``runbook`` on ``cluster`` sees: the cluster's
        (``Settings.for_cluster``; without ``[clusters]``, or for a workflow that recorded
        none, the top level's),
        then the runbook's ``runbook_overrides`` merged in. Raises ConfigError."""
        found = self._per_runbook.get(f"{cluster}/{runbook}")
        if found is None:
            # without [clusters] every workflow runs with these settings, whatever cluster
            # name it recorded (as before clusters were named)
            named = cluster and self.settings.clusters
            base = self.settings.for_cluster(cluster) if named else self.settings
            found = self._per_runbook[f"{cluster}/{runbook}"] = base.for_runbook(runbook)
        return found

    def serves(self, cluster: str) -> bool:
        """Whether this worker runs steps of ``cluster`` (started with ``--cluster``, it
        runs only those clusters' steps; '' is a workflow that recorded no cluster)."""
        served = self.app.conf.get("cephflow_served_clusters")
        return served is None or not cluster or cluster in served

    def heartbeat(self) -> None:
        """Keep the lease of the node this process runs fresh (a long task is not 'lost')."""
        if self._heartbeat is not None and self._heartbeat.is_alive():
            return
        interval = max(self.settings.lease_seconds / 3, 0.2)

        def beat() -> None:
            while True:
                time.sleep(interval)
                current = self.current
                if current is None or time.monotonic() - current[2] < interval:
                    continue
                try:
                    # by the server's clock, never shortened (lua/beat.lua)
                    self.transitions.beat(current[0], current[1], self.holder_id)
                except Exception as exc:  # noqa: BLE001 - a missed beat only risks a re-send
                    log.warning("lease heartbeat failed: %s", exc)

        self._heartbeat = threading.Thread(target=beat, name="cephflow-lease", daemon=True)
        self._heartbeat.start()


_engines: dict[tuple[int, int], Engine] = {}


def engine_for(app: Celery) -> Engine:
    """This process's Engine for ``app`` (a fresh one after a fork)."""
    key = (os.getpid(), id(app))
    engine = _engines.get(key)
    if engine is None:
        settings = get_settings()
        engine = _engines[key] = Engine(app, settings, app.conf.cephflow_redis_url)
    return engine


@contextmanager
def deadline_timer(deadline: float | None, clock: EngineClock) -> Iterator[None]:
    """Raise StepTimeout in the task when ``deadline`` (``clock``'s time) passes (main thread
    only)."""
    if deadline is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise StepTimeout()

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, max(deadline - clock(), 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _valid(args: tuple[Any, ...]) -> bool:
    return len(args) in (2, 3) and all(isinstance(a, str) and a for a in args[:2]) and (
        len(args) == 2 or isinstance(args[2], str))


def _error_text(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, StepFailed | EngineError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_message(app: Celery, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Handle one node message; never raises for a bad message (logged and dropped)."""
    if kwargs or not _valid(args):
        log.error("dropping malformed node message: args=%.200r kwargs=%.200r", args, kwargs)
        return
    wf, node = args[0], args[1]
    token = args[2] if len(args) == 3 else ""
    engine = engine_for(app)
    try:
        _run(engine, wf, node, token)
    except EngineError as exc:
        log.error("workflow %s node %s: %s (left to the reconciler)", wf, node, exc)
    except Exception:  # noqa: BLE001 - never let one message take the worker down
        log.exception("workflow %s node %s: engine failure (left to the reconciler)", wf, node)


@dataclass(frozen=True)
class _Run:
    """One claimed run of a node: where its outcome is recorded, and what is masked in it."""

    engine: Engine
    wf: str
    node: str
    token: str
    masker: Masker
    clock: EngineClock
    """The server's clock from the claim on: what the node's start and deadline are in."""


def _worker_name() -> str:
    """Who runs a step, as the claim records it: the Celery worker's name and this process."""
    from celery import current_task

    request = getattr(current_task, "request", None)
    name = getattr(request, "hostname", None) or ""
    return f"{name} {socket.gethostname()}:{os.getpid()}".strip()


def _not_here(engine: Engine, wf: str, node: str, token: str) -> bool:
    """Keep a step of a cluster this worker does not serve from running here: True when it
    was handled (re-sent to its cluster's queue, or failed when that queue is one this
    worker consumes, as an explicit ``celery.task_routes`` entry can make it)."""
    if engine.app.conf.get("cephflow_served_clusters") is None:
        return False  # serves every cluster: no need to read the workflow's
    cluster = node_tasks.cluster_of(engine.client, engine.ns, wf)
    if engine.serves(cluster):
        return False
    [name] = node_tasks.task_names(engine.client, engine.ns, wf, [node])
    queue = dispatch.queue_for(engine.app, name or dispatch.TASK_NAME, cluster)
    consumed = set(engine.app.amqp.queues.consume_from or ())
    served = ", ".join(engine.app.conf.get("cephflow_served_clusters") or ()) or "none"
    if queue not in consumed:
        log.warning("workflow %s node %s: a step of cluster %r reached a worker of %s; sent "
                    "back to queue %s", wf, node, cluster, served, queue)
        dispatch.send(engine.app, wf, [(node, token)], client=engine.client)
        return True
    claim = engine.transitions.claim(wf, node, token, engine.holder_id, _worker_name())
    if claim.status == "run":
        error = (f"not run: a step of cluster {cluster!r} reached worker {_worker_name()}, "
                 f"which serves {served} only, through queue {queue!r} "
                 f"(celery.task_routes sends {name!r} there); route it to a queue that only "
                 f"workers reaching {cluster!r} serve")
        done = engine.transitions.complete(wf, node, token, "failed", error, "")
        log.error("workflow %s node %s: %s", wf, node, error)
        dispatch.send(engine.app, wf, done.sends, client=engine.client)
    else:
        dispatch.send(engine.app, wf, claim.sends, client=engine.client)
    return True


def _run(engine: Engine, wf: str, node: str, token: str) -> None:
    tr = engine.transitions
    if _not_here(engine, wf, node, token):
        return
    claim = tr.claim(wf, node, token, engine.holder_id, _worker_name())
    if claim.status == "unknown":
        log.error("dropping message for unknown workflow/node %r/%r", wf, node)
        return
    if claim.status != "run":
        dispatch.send(engine.app, wf, claim.sends, client=engine.client)
        return
    claimed = Claimed(*claim.detail)
    clock = EngineClock(float(claimed.now))
    secrets = json.loads(claimed.secrets)
    LOG_MASKING.register(wf, secrets)
    run = _Run(engine, wf, node, token, Masker(secrets), clock)
    spec = json.loads(claimed.spec)
    if "late" in spec or "expand" in spec:
        try:
            decision = late.decide(engine.client, keys.WorkflowKeys(engine.ns, wf), spec)
        except StepFailed as exc:
            _finish(run, "failed", _error_text(exc))
            return
        if decision.skip is not None:
            _finish(run, "skipped", decision.skip)
            return
        if decision.members is not None:
            _expand(run, spec["step"], decision.members)
            return
        spec["args"] = decision.args
    attempt, started = int(claimed.attempt), float(claimed.started)
    timeout = spec.get("timeout")
    deadline = started + float(timeout) if timeout else None
    task_name = spec["task"]
    fn = IMPLEMENTATIONS.get(task_name)
    if fn is None:
        load_task_modules(engine.settings)
        fn = IMPLEMENTATIONS.get(task_name)
    if fn is None:
        _finish(run, "failed", f"unknown task {task_name!r} in this worker")
        return
    task_spec = CATALOG.get(task_name)
    poll = bool(task_spec and task_spec.poll)
    try:
        settings = engine.settings_for(claimed.runbook, claimed.cluster)
    except ConfigError as exc:
        _finish(run, "failed", str(exc))
        return
    ctx = StepContext(
        workflow_id=wf, node_id=node, backend=engine.backend, attempt=attempt,
        started_at=started, deadline=deadline, params=json.loads(claimed.params),
        settings=settings, masker=run.masker, clock=clock,
    )
    if deadline is not None and not poll and clock() >= deadline:
        _finish(run, "failed", f"timed out after {timeout:g}s")
        return
    engine.heartbeat()
    engine.current = (wf, node, time.monotonic())
    try:
        with deadline_timer(None if poll else deadline, clock):
            result = fn(ctx, **spec.get("args", {}))
    except NotYet as exc:
        _not_yet(run, exc, deadline, timeout)
        return
    except StepTimeout:
        _finish(run, "failed", f"timed out after {timeout:g}s")
        return
    except StepFailed as exc:
        _finish(run, "failed", _error_text(exc))
        return
    except Exception as exc:  # noqa: BLE001 - any task error is retried per the step's policy
        _retry_or_fail(run, exc, spec, attempt, deadline, timeout)
        return
    finally:
        engine.current = None
    try:
        text = late.output_text(run.masker.value(result))
    except StepFailed as exc:
        _finish(run, "failed", _error_text(exc))
        return
    _finish(run, "succeeded", "", run.masker.text(text))


def _finish(run: _Run, outcome: str, error: str, result: str = "") -> None:
    engine, wf, node = run.engine, run.wf, run.node
    error = run.masker.text(error)
    done = engine.transitions.complete(wf, node, run.token, outcome, error, result)
    if done.status == "stale":
        log.warning("workflow %s node %s: run outdated (node re-sent meanwhile); "
                    "its outcome is discarded", wf, node)
        return
    if outcome == "failed":
        log.warning("workflow %s node %s failed: %s", wf, node, error)
    dispatch.send(engine.app, wf, done.sends, client=engine.client)


def _expand(run: _Run, group: str, members: list[tuple[str, str]]) -> None:
    """Write a runtime fan-out's members and send the ones that may start."""
    engine, wf, node = run.engine, run.wf, run.node
    detail = f"expanded into {len(members)} member{'' if len(members) == 1 else 's'}"
    done = engine.transitions.expand(wf, node, run.token, members, group, detail)
    if done.status == "invalid":
        _finish(run, "failed", f"member {done.detail[0]!r} exists already")
        return
    if done.status == "stale":
        log.warning("workflow %s node %s: expansion outdated (node re-sent meanwhile); "
                    "discarded", wf, node)
        return
    dispatch.send(engine.app, wf, done.sends, client=engine.client)


def _reschedule(run: _Run, kind: str, delay: float, error: str = "") -> None:
    engine, wf, node = run.engine, run.wf, run.node
    again = engine.transitions.reschedule(wf, node, run.token, kind, delay,
                                          run.masker.text(error))
    if again.status == "ok":
        dispatch.send(engine.app, wf, [(node, again.detail[0])], countdown=delay,
                      client=engine.client)
    else:
        dispatch.send(engine.app, wf, again.sends, client=engine.client)


def _not_yet(run: _Run, exc: NotYet, deadline: float | None, timeout: Any) -> None:
    countdown = exc.countdown if exc.countdown is not None else run.engine.settings.poll_countdown
    now = run.clock()
    if deadline is not None:
        if now >= deadline:
            detail = f": {exc.detail}" if exc.detail else ""
            _finish(run, "failed", f"timed out after {timeout:g}s{detail}")
            return
        countdown = min(countdown, deadline - now)
    _reschedule(run, "poll", max(countdown, 0.0))


def _retry_or_fail(run: _Run, exc: Exception, spec: dict[str, Any], attempt: int,
                   deadline: float | None, timeout: Any) -> None:
    error = run.masker.text(_error_text(exc))
    policy = RetryPolicy(**spec.get("retry", {}))
    if attempt >= policy.attempts:
        _finish(run, "failed", error)
        return
    delay = policy.delay(attempt)
    if deadline is not None and run.clock() + delay >= deadline:
        _finish(run, "failed", f"timed out after {timeout:g}s: {error}")
        return
    log.info("workflow %s node %s try %d failed (%s); retry in %.1fs", run.wf, run.node,
             attempt, error, delay)
    _reschedule(run, "retry", delay, error)


_loaded = False


def load_task_modules(settings: Settings) -> None:
    """Import the task modules this worker was told to run: ``settings.task_modules``, then
    ``CEPHFLOW_EXTRA_TASK_MODULES`` (comma-separated); once per process."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    extra = (m.strip() for m in os.environ.get(EXTRA_TASK_MODULES_VARIABLE, "").split(","))
    import_task_modules([*settings.task_modules, *filter(None, extra)])
