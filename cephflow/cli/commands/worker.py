"""``cephflow worker``: a Celery worker for cephflow's app (as ``celery -A cephflow.engine.app
worker`` would start), on the configured Redis or the embedded one.
"""

from __future__ import annotations

import os

import typer

from cephflow.ceph.identity import check_one_cluster
from cephflow.cli import console as c
from cephflow.settings import get_settings


def worker(
    concurrency: int = typer.Option(2, "--concurrency", "-c", min=1,
                                    help="Tasks run at once (prefork processes)."),
    detach: bool = typer.Option(False, "--detach",
                                help="Run in the background (the embedded default's worker)."),
    loglevel: str = typer.Option("INFO", "--loglevel", "-l", help="Celery log level."),
) -> None:
    """Run a worker: it executes workflow steps and re-sends lost ones (reconciler)."""
    from cephflow.engine import embedded

    settings = get_settings()
    check_one_cluster(settings.ceph)  # a ClusterMismatch is reported by main, exit 2
    if not settings.redis_url:
        embedded.start_redis(settings)
    url = settings.redis_url or embedded.redis_url(settings)
    if detach:
        pid = embedded.start_worker(settings, concurrency=concurrency, url=url)
        c.console.print(f"worker running, pid {pid}, log {embedded.paths(settings).worker_log}",
                        highlight=False)
        return
    argv = embedded.worker_argv(concurrency, loglevel)
    os.environ["CEPHFLOW_REDIS_URL"] = url
    os.execv(argv[0], argv)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
