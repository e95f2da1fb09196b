"""``cephflow worker``: a Celery worker for cephflow's app (as ``celery -A cephflow.engine.app
worker`` would start), on the configured Redis or the embedded one.
"""

from __future__ import annotations

import os

import typer

from cephflow.cli import console as c


def worker(
    concurrency: int = typer.Option(2, "--concurrency", "-c", min=1,
                                    help="Tasks run at once (prefork processes)."),
    detach: bool = typer.Option(False, "--detach",
                                help="Run in the background (the embedded default's worker)."),
    loglevel: str = typer.Option("INFO", "--loglevel", "-l", help="Celery log level."),
    cluster: str | None = typer.Option(
        None, "--cluster", metavar="NAME[,NAME...]",
        help="Serve only these clusters' steps (their queues), comma-separated; default: "
             "every configured cluster's."),
) -> None:
    """Run a worker: it executes workflow steps and re-sends lost ones (reconciler)."""
    from cephflow.operations import services  # lazy: see cephflow.cli.commands

    clusters = [n.strip() for n in cluster.split(",") if n.strip()] if cluster else None
    # a ClusterMismatch or unknown cluster is raised before anything starts, and reported
    # by main (exit 2)
    if detach:
        started = services.start_worker(concurrency=concurrency, clusters=clusters)
        c.console.print(f"worker running, pid {started.pid}, log {started.log}", highlight=False)
        return
    command = services.worker(concurrency=concurrency, loglevel=loglevel, clusters=clusters)
    os.execve(command.argv[0], command.argv, command.env)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
