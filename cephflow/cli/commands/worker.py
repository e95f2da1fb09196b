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
) -> None:
    """Run a worker: it executes workflow steps and re-sends lost ones (reconciler)."""
    from cephflow.operations import services  # lazy: see cephflow.cli.commands

    # a ClusterMismatch is raised before anything starts, and reported by main (exit 2)
    if detach:
        started = services.start_worker(concurrency=concurrency)
        c.console.print(f"worker running, pid {started.pid}, log {started.log}", highlight=False)
        return
    command = services.worker(concurrency=concurrency, loglevel=loglevel)
    os.execve(command.argv[0], command.argv, command.env)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
