"""The embedded services: the private redis-server and the local worker, shown, started, stopped.

They exist only on the embedded default (no ``redis_url``); with a configured Redis the
workers are the operator's. ``worker`` prepares what ``cephflow worker`` runs, in the
foreground or detached.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cephflow.ceph.identity import check_one_cluster
from cephflow.engine import embedded
from cephflow.engine.client import WorkflowClient
from cephflow.engine.embedded import ServiceStatus
from cephflow.engine.state import WorkflowSummary
from cephflow.settings import Settings, get_settings
from cephflow.settings_sources import WORKER_CLUSTERS_VARIABLE

UNFINISHED_LIMIT = 1000
"""How many of the newest workflows ``stop`` looks through for unfinished ones."""


@dataclass(frozen=True)
class Services:
    """What runs the workflows: a configured Redis, or the embedded services' status."""

    redis_url: str | None
    """The configured Redis (then ``embedded`` is empty); None on the embedded default."""
    embedded: list[ServiceStatus]
    started: list[ServiceStatus] = field(default_factory=list)
    """What this call started: ``status`` only the services that had died (``was``: their
    dead PID), ``start`` whatever did not run."""


@dataclass(frozen=True)
class WorkerCommand:
    """A foreground worker: the command line to run and its environment."""

    argv: list[str]
    env: dict[str, str]


@dataclass(frozen=True)
class DetachedWorker:
    """A background worker just started (or found running)."""

    pid: int
    log: Path


def status() -> Services:
    """The configured Redis, or the embedded redis-server's and worker's PIDs and files.

    A service that died is started again first (``embedded.revive``), so that looking at
    the services is enough to get a stalled workflow going; one stopped by ``stop`` is
    shown stopped.
    """
    settings = get_settings()
    if settings.redis_url:
        return Services(settings.redis_url, [])
    revived = embedded.revive(settings)
    return Services(None, embedded.status(settings), revived)


def start() -> Services:
    """Start the embedded redis-server and local worker unless they run (nothing on a
    configured Redis: its workers are the operator's)."""
    settings = get_settings()
    if settings.redis_url:
        return Services(settings.redis_url, [])
    check_one_cluster(settings.ceph)
    started = embedded.ensure_services(settings)
    return Services(None, embedded.status(settings), started)


@dataclass(frozen=True)
class Stopped:
    """What ``stop`` stopped, and the workflows it left without a worker."""

    stopped: list[str]
    """``worker``, ``redis``: the services that were running."""
    paused: list[WorkflowSummary]
    """Workflows that had not ended when the worker stopped: they wait, kept in the AOF,
    until a worker runs again (``cephflow worker``, or the next command that starts one)."""


def stop() -> Stopped:
    """Stop the local worker and the embedded redis-server (workflows are kept in its AOF).

    Running workflows do not stop it: stopping loses nothing, and an operator stopping the
    services means it (for a reboot, an upgrade); ``Stopped.paused`` names them so the
    caller can say that they pause.
    """
    settings = get_settings()
    paused = _unfinished(settings)
    return Stopped(embedded.stop(settings), paused)


def _unfinished(settings: Settings) -> list[WorkflowSummary]:
    """The embedded Redis's workflows that have not ended, if its worker runs (else none
    are paused by stopping it)."""
    if settings.redis_url:
        return []
    running = {s.name: s.running for s in embedded.status(settings)}
    if not (running.get("redis") and running.get("worker")):
        return []
    client = WorkflowClient(settings)
    try:
        return [w for w in client.list_workflows(UNFINISHED_LIMIT) if not w.state.terminal]
    finally:
        client.close()


def _worker_url(clusters: list[str] | None = None) -> str:
    """The Redis a worker serves: each cluster it serves checked (one cluster each side,
    names known), the embedded one started if used."""
    settings = get_settings()
    served = settings.served_clusters(clusters)
    for name in served if served is not None else settings.cluster_names():
        check_one_cluster(settings.for_cluster(name).ceph)
    if not settings.redis_url:
        embedded.start_redis(settings)
    return settings.redis_url or embedded.redis_url(settings)


def _worker_env(url: str, clusters: list[str] | None) -> dict[str, str]:
    """The worker's environment: its Redis, and the clusters it serves (``--cluster``: it
    then consumes the namespace's queue and those clusters' queues only)."""
    env = dict(os.environ, CEPHFLOW_REDIS_URL=url)
    env.pop(WORKER_CLUSTERS_VARIABLE, None)
    if clusters:
        env[WORKER_CLUSTERS_VARIABLE] = ",".join(clusters)
    return env


def worker(*, concurrency: int, loglevel: str,
           clusters: list[str] | None = None) -> WorkerCommand:
    """The worker to run in the foreground, serving ``clusters`` (None: every cluster).
    Raises ClusterMismatch, or ConfigError for an unknown cluster, before starting anything."""
    url = _worker_url(clusters)
    return WorkerCommand(embedded.worker_argv(concurrency, loglevel), _worker_env(url, clusters))


def start_worker(*, concurrency: int, clusters: list[str] | None = None) -> DetachedWorker:
    """A worker in the background (the embedded default's), unless one runs already."""
    settings = get_settings()
    url = _worker_url(clusters)
    pid = embedded.start_worker(settings, concurrency=concurrency, url=url,
                                env=_worker_env(url, clusters))
    return DetachedWorker(pid, embedded.paths(settings).worker_log)
