"""``cephflow status`` without an id: recent workflows, one row each, newest first.

``WorkflowList(summaries, ended=..., now=...)`` is a table of id, runbook, key params, state,
start, duration and progress. Pure: summaries, counts and a time in, a table out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from cephflow.cli.views.style import (
    duration,
    params_text,
    short_id,
    workflow_glyph,
    workflow_style,
)
from cephflow.engine.state import WorkflowSummary


def started(ts: float, now: float) -> str:
    """``12:30:01`` today (UTC), ``2026-11-24 12:30`` before."""
    when, today = datetime.fromtimestamp(ts, UTC), datetime.fromtimestamp(now, UTC)
    if when.date() == today.date():
        return when.strftime("%H:%M:%S")
    return when.strftime("%Y-%m-%d %H:%M")


_COLUMNS = [
    ("id", "left"), ("runbook", "left"), ("params", "left"), ("state", "left"),
    ("started", "left"), ("duration", "right"), ("progress", "right"),
]


class WorkflowList:
    """A table of workflows.

    Args:
        summaries: the workflows, in the order to show them.
        ended: workflow id -> how many of its nodes ended (missing: progress unknown).
        now: the wall-clock time running workflows' durations are measured to.
    """

    def __init__(
        self, summaries: Sequence[WorkflowSummary], *, ended: Mapping[str, int], now: float
    ):
        self.summaries = summaries
        self.ended = ended
        self.now = now

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.summaries:
            yield Text("no workflows yet: start one with `cephflow run NAME`", style="dim")
            return
        rows = []
        for snap in self.summaries:
            done = self.ended.get(snap.id)
            end = snap.ended_at if snap.state.terminal and snap.ended_at else self.now
            rows.append((
                Text(short_id(snap.id), style="cyan"),
                Text(snap.runbook),
                Text(params_text(snap.params)),
                Text(f"{workflow_glyph(snap.state)} {snap.state.value}",
                     style=workflow_style(snap.state)),
                Text(started(snap.submitted_at, self.now)),
                Text(duration(end - snap.submitted_at)),
                Text(f"{'?' if done is None else done}/{snap.nodes}"),
            ))
        widths = [max([len(name), *(row[i].cell_len for row in rows)])
                  for i, (name, _) in enumerate(_COLUMNS)]
        params = _COLUMNS.index(("params", "left"))
        others = sum(w for i, w in enumerate(widths) if i != params) + 2 * (len(widths) - 1)
        # params is the one column that gives way on a narrow terminal
        widths[params] = max(min(widths[params], 40, options.max_width - others), 6)
        table = Table(box=None, pad_edge=False, header_style="bold")
        for (name, justify), width in zip(_COLUMNS, widths, strict=True):
            table.add_column(name, justify=justify, no_wrap=True, overflow="ellipsis", width=width)
        for row in rows:
            table.add_row(*row)
        yield table
