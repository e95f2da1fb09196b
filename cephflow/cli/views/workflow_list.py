"""``cephflow status`` without an id: recent workflows, one row each, newest first.

``WorkflowList(snapshots, now=...)`` is a table of id, runbook, key params, state, start,
duration and progress. Pure: a list of snapshots and a time in, a table out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from cephflow.cli.views.header import progress, workflow_elapsed
from cephflow.cli.views.style import (
    duration,
    params_text,
    short_id,
    workflow_glyph,
    workflow_style,
)
from cephflow.engine.state import WorkflowSnapshot


def started(ts: float, now: float) -> str:
    """``12:30:01`` today (UTC), ``2026-11-24 12:30`` before."""
    when, today = datetime.fromtimestamp(ts, UTC), datetime.fromtimestamp(now, UTC)
    if when.date() == today.date():
        return when.strftime("%H:%M:%S")
    return when.strftime("%Y-%m-%d %H:%M")


class WorkflowList:
    """A table of workflows.

    Args:
        snapshots: the workflows, in the order to show them.
        now: the wall-clock time running workflows' durations are measured to.
    """

    def __init__(self, snapshots: Sequence[WorkflowSnapshot], *, now: float):
        self.snapshots = snapshots
        self.now = now

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.snapshots:
            yield Text("no workflows yet: start one with `cephflow run NAME`", style="dim")
            return
        table = Table(box=None, pad_edge=False, header_style="bold")
        table.add_column("id", style="cyan", no_wrap=True)
        table.add_column("runbook", no_wrap=True)
        table.add_column("params", overflow="ellipsis", no_wrap=True, max_width=40)
        table.add_column("state", no_wrap=True)
        table.add_column("started", no_wrap=True)
        table.add_column("duration", justify="right", no_wrap=True)
        table.add_column("progress", justify="right", no_wrap=True)
        for snap in self.snapshots:
            done, total = progress(snap)
            state = Text(f"{workflow_glyph(snap.state)} {snap.state.value}",
                         style=workflow_style(snap.state))
            table.add_row(
                short_id(snap.id),
                snap.runbook,
                params_text(snap.params),
                state,
                started(snap.submitted_at, self.now),
                duration(workflow_elapsed(snap, self.now)),
                f"{done}/{total}",
            )
        yield table
