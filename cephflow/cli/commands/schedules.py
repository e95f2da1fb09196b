"""``cephflow scheduler`` (fire the configured schedules) and ``cephflow schedules`` (list them).

``scheduler`` runs in the foreground until SIGTERM or Ctrl-C and prints one line per fire
time it handles (submitted, skipped, missed, failed) and a line when it starts or stops
leading; SIGHUP reads the schedules again (``systemctl reload``); any number may run
against one Redis, one fires. ``schedules`` shows each schedule
with its last fire and the next one; ``--json`` prints them as a JSON object.
"""

from __future__ import annotations

import json
import signal
import threading
from types import FrameType

import typer

from cephflow.cli import console as c


def scheduler() -> None:
    """Fire the configured schedules (runs until stopped; several may run, one fires)."""
    from cephflow.cli import launch  # lazy: see cephflow.cli.commands
    from cephflow.operations import schedules as ops
    from cephflow.operations import workflows
    from cephflow.operations.scheduler import Scheduler

    configured = ops.configured()
    if not configured:
        c.err_console.print("warning: no schedules are configured ([schedules.<name>] in the "
                            "config file); the scheduler has nothing to fire", highlight=False)
    opened = workflows.open_client(services=True)  # the embedded default: Redis and a worker
    launch.say_started(opened.started)
    client = opened.client
    stop, reload = threading.Event(), threading.Event()

    def stopping(signum: int, frame: FrameType | None) -> None:
        stop.set()

    def reloading(signum: int, frame: FrameType | None) -> None:
        reload.set()

    previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, reloading)

    def report(fired: ops.Fired) -> None:
        schedule = loop.schedules[fired.name]  # after a reload: the schedule as read again
        detail = fired.workflow or fired.reason or ""
        c.console.print(f"{ops.local_time(schedule, fired.fire)} {fired.name} "
                        f"{fired.outcome.value}: {detail}", highlight=False, soft_wrap=True)

    def notice(line: str) -> None:
        c.err_console.print(line, highlight=False, soft_wrap=True)

    loop = Scheduler(client, configured, report=report, notice=notice)
    notice(f"scheduler started (schedules: {', '.join(sorted(configured)) or 'none'})")
    try:
        loop.run(stop, reload=reload)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        client.close()
    notice("scheduler stopped")


def schedules(
    as_json: bool = typer.Option(False, "--json", help="Print the schedules as JSON."),
) -> None:
    """List the configured schedules with their last and next fire."""
    from cephflow.cli import launch  # lazy: see cephflow.cli.commands
    from cephflow.cli.views.schedule_list import ScheduleList
    from cephflow.operations import schedules as ops

    client = launch.connect(services=False)
    shown = ops.list_schedules(client)
    if as_json:
        c.console.out(json.dumps(ops.shown(shown).model_dump(mode="json")), highlight=False)
        return
    c.console.print(ScheduleList(shown))


def register(app: typer.Typer) -> None:
    app.command("schedules")(schedules)
    app.command("scheduler")(scheduler)
