"""The Celery app: ``celery -A cephflow.engine.app worker`` (or ``cephflow worker``).

Each declared task (``@task("ceph.reweight")``) is a Celery task of that name
(``celery_tasks``), and the generic ``cephflow.run_node`` stays for messages sent by older
versions; every message carries ``(workflow_id, node_id, token)`` only: the node's task name
and arguments are read from Redis, and the function comes from the ``@task`` registry. Late
acks, rejection on a lost worker, prefetch 1, and a visibility timeout far above any
countdown: a message is acknowledged only after its run has been recorded.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Mapping
from typing import Any

from celery import Celery, signals
from kombu import Queue

from cephflow.engine import broker, celery_tasks
from cephflow.engine.connection import broker_url, call, redis_address, redis_client
from cephflow.errors import CephflowError, RedisUnreachable
from cephflow.lab.state import use_lab_state
from cephflow.settings import CelerySettings, Settings, get_settings
from cephflow.settings_sources import WORKER_CLUSTERS_VARIABLE

log = logging.getLogger("cephflow.engine")

VISIBILITY_TIMEOUT = 12 * 3600
"""Seconds before Redis hands an unacknowledged message to another worker (>> countdowns)."""


def resolve_redis_url(settings: Settings) -> str:
    """The configured Redis, or the embedded one's socket under the state dir."""
    if settings.redis_url:
        return settings.redis_url
    from cephflow.engine import embedded

    return embedded.redis_url(settings)


def make_app(redis_url: str, namespace: str, celery: CelerySettings | None = None, *,
             cluster_queues: Mapping[str, str] | None = None,
             serves: Collection[str] | None = None) -> Celery:
    """A Celery app on ``redis_url`` whose queue is named after the namespace, with the
    routes and rate limits of ``celery`` (none when not given).

    ``cluster_queues`` (cluster -> queue, ``Settings.cluster_queues``) sends each cluster's
    steps to its queue; a worker of this app consumes the namespace's queue (which every
    worker serves) and the queues of the clusters in ``serves`` (None: every cluster), and
    runs no step of another cluster (``runner``).

    Its TLS options go to the broker and the result backend as options, not in their URLs
    (``redis_address``): the same certificate check as the engine's own client.
    """
    address = redis_address(redis_url)
    app = Celery("cephflow", set_as_current=False)
    app.conf.update(
        broker_url=broker.broker_url(address.url),
        broker_use_ssl=address.tls or False,
        result_backend=broker_url(address.url),
        redis_backend_use_ssl=address.tls or None,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        broker_connection_retry_on_startup=True,
        task_default_queue=namespace,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        task_publish_retry_policy={"max_retries": 5, "interval_start": 0.2,
                                   "interval_step": 0.5, "interval_max": 2},
        cephflow_redis_url=redis_url,
        cephflow_namespace=namespace,
        cephflow_cluster_queues=dict(cluster_queues or {}),
        cephflow_served_clusters=None if serves is None else sorted(serves),
    )
    if cluster_queues:
        served = [q for c, q in cluster_queues.items() if serves is None or c in serves]
        app.conf.task_queues = [Queue(q) for q in dict.fromkeys([namespace, *served])]
    app.conf.update(broker.sentinel_conf(redis_url, app.conf.broker_transport_options))
    celery_tasks.configure(app, celery or CelerySettings())
    return app


def _default_app() -> Celery:
    """The app ``celery -A cephflow.engine.app`` starts: this module begins the worker's
    process, so it is where the lab's state file is made to count (``use_lab_state``)."""
    use_lab_state()
    settings = get_settings()
    named = os.environ.get(WORKER_CLUSTERS_VARIABLE, "")
    serves = settings.served_clusters([n.strip() for n in named.split(",") if n.strip()]
                                      or None)
    return make_app(resolve_redis_url(settings), settings.namespace, settings.celery,
                    cluster_queues=settings.cluster_queues(), serves=serves)


app = _default_app()
_reconciler: Any = None


@signals.worker_init.connect
def _load_tasks(sender: Any = None, **_: Any) -> None:
    """Load the task modules the settings name (``task_modules``), then run their worker
    checks: a failed check stops the worker before it takes a message (SystemExit: Celery's
    signal dispatch logs and swallows ordinary exceptions). A Redis that refuses the worker
    (``_redis_lets_in``), or a rate limit or route naming no loaded task, stops it the same
    way. Each loaded task then becomes a Celery task of its name."""
    from cephflow.engine.registry import WORKER_CHECKS
    from cephflow.engine.runner import load_task_modules

    settings = get_settings()
    load_task_modules(settings)
    worker_app = getattr(sender, "app", None) or app
    celery_tasks.register_declared(worker_app)
    checks = [lambda _: _redis_lets_in(worker_app), lambda s: celery_tasks.check_names(s.celery),
              *WORKER_CHECKS]
    for check in checks:
        try:
            check(settings)
        except CephflowError as exc:
            where = f" ({exc.where})" if exc.where else ""
            hint = f"; {exc.hint}" if getattr(exc, "hint", None) else ""
            log.critical("cephflow worker refuses to start: %s%s%s", exc, where, hint)
            raise SystemExit(2) from exc


def _redis_lets_in(worker_app: Celery) -> None:
    """Raise RedisAccessDenied when Redis refuses this worker's password, ACL user or TLS
    certificate check: Celery would retry the broker connection forever, logging each try.
    An unreachable Redis is not an error here: the worker waits for it as before."""
    url = getattr(worker_app.conf, "cephflow_redis_url", None)
    if url is None:
        return
    client = redis_client(url)
    try:
        call(client.ping, patience=0, what="ping")
    except RedisUnreachable:
        pass
    finally:
        client.close()


@signals.worker_ready.connect
def _start_reconciler(sender: Any = None, **_: Any) -> None:
    """Each worker runs the reconciler: once now, then every lease/4 seconds."""
    global _reconciler
    from cephflow.engine.reconciler import ReconcilerThread
    from cephflow.engine.runner import engine_for

    worker_app = getattr(sender, "app", None) or app
    if getattr(worker_app.conf, "cephflow_redis_url", None) is None:
        return
    engine = engine_for(worker_app)
    interval = max(engine.settings.lease_seconds / 4, 0.5)
    _reconciler = ReconcilerThread(engine.client, engine.transitions, worker_app, engine.ns,
                                   interval=interval,
                                   submit_grace=engine.settings.submit_grace_seconds)
    _reconciler.start()
    log.info("cephflow reconciler started (every %.1fs)", interval)


@signals.worker_shutdown.connect
def _stop_reconciler(**_: Any) -> None:
    if _reconciler is not None:
        _reconciler.stop()
