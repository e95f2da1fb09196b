"""``cephflow services [start|stop]``: the embedded redis-server and local worker, shown,
started or stopped. Showing them starts again one that had died, and says so."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from cephflow.cli import console as c
from cephflow.engine.connection import safe_url

if TYPE_CHECKING:
    from cephflow.operations.services import Services

services_app = typer.Typer(help="The embedded Redis and local worker (no redis_url configured).",
                           invoke_without_command=True)


@services_app.callback()
def show(ctx: typer.Context) -> None:
    """Show the embedded services: PIDs, socket, logs."""
    if ctx.invoked_subcommand is not None:
        return
    from cephflow.operations import services  # lazy: see cephflow.cli.commands

    _show(services.status())


def _show(found: Services) -> None:
    from cephflow.cli import launch  # lazy: see cephflow.cli.commands

    if found.redis_url:
        c.console.print(f"using the configured Redis ({safe_url(found.redis_url)}); "
                        "workers are the operator's", highlight=False)
        return
    launch.say_started(found.started, fresh=False)
    table = Table("service", "pid", "state", "detail", box=None)
    for s in found.embedded:
        table.add_row(s.name, str(s.pid or "-"), "running" if s.running else "stopped", s.detail)
    c.console.print(table)


@services_app.command("start")
def start() -> None:
    """Start the embedded redis-server and local worker unless they run, and show them."""
    from cephflow.operations import services  # lazy: see cephflow.cli.commands

    found = services.start()
    if not found.redis_url:
        names = {"redis": "redis-server"}
        what = [names.get(s.name, s.name) for s in found.started]
        c.console.print("started: " + (", ".join(what) if what else
                                       "nothing (both were running)"), highlight=False)
    _show(found)


@services_app.command("stop")
def stop() -> None:
    """Stop the local worker and the embedded redis-server (workflows are kept in its AOF).

    Workflows still running are not lost: they pause, and a warning names them; they go on
    when a worker runs again (`cephflow worker`, or the next `cephflow run`, `approve`, ...).
    """
    from cephflow.operations import services  # lazy: see cephflow.cli.commands

    done = services.stop()
    for wf in done.paused:
        c.err_console.print(f"warning: workflow {wf.id} ({wf.runbook}) has not ended: it "
                            "pauses until a worker runs again (cephflow worker, or the next "
                            "cephflow run)", highlight=False, soft_wrap=True)
    c.console.print("stopped: " + (", ".join(done.stopped) if done.stopped
                                   else "nothing was running"), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(services_app, name="services")
