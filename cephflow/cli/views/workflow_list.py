"""``cephflow status`` without an id: recent workflows, one row each, newest first.

``WorkflowList(summaries, ended=..., now=...)`` is a table of id, cluster (when one of them
names a cluster other than the unnamed default), runbook, state, start, duration, progress and
target (what the run acts on: its host, OSDs, device), sized to fit
80 columns with the target last, cut first. Pure: summaries, counts and a time in, a table out.
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
    shown_cluster,
    workflow_glyph,
    workflow_style,
)
from cephflow.engine.state import WorkflowSummary


def started(ts: float, now: float) -> str:
    """``12:30`` today (UTC), ``Nov 24 12:30`` earlier this year, ``2025-11-24`` before."""
    when, today = datetime.fromtimestamp(ts, UTC), datetime.fromtimestamp(now, UTC)
    if when.date() == today.date():
        return when.strftime("%H:%M")
    if when.year == today.year:
        return when.strftime("%b %d %H:%M")
    return when.strftime("%Y-%m-%d")


_COLUMNS = [
    ("id", "left"), ("runbook", "left"), ("state", "left"), ("started", "left"),
    ("took", "right"), ("steps", "right"), ("target", "left"),
]

TARGET_PARAMS = ("host", "hosts", "osd", "osds", "device", "devices", "pool", "pools")
"""Param names that say what a run acts on; other params (counts, pauses) say little in a list."""


def target(params: Mapping[str, object]) -> str:
    """``host=ceph-osd-17 osds=1,2``: the params of ``params`` that name what the run acts on."""
    return params_text({k: v for k, v in params.items() if k in TARGET_PARAMS})


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
        clusters = any(shown_cluster(s.cluster) for s in self.summaries)
        columns = [*_COLUMNS[:1], ("cluster", "left"), *_COLUMNS[1:]] if clusters else _COLUMNS
        for snap in self.summaries:
            done = self.ended.get(snap.id)
            end = snap.ended_at if snap.state.terminal and snap.ended_at else self.now
            rows.append((
                Text(short_id(snap.id), style="cyan"),
                *([Text(snap.cluster or "", style="cyan")] if clusters else []),
                Text(snap.runbook),
                Text(f"{workflow_glyph(snap.state)} {snap.state.value}"
                     + (" (paused)" if snap.pause is not None else ""),
                     style="yellow" if snap.pause is not None else workflow_style(snap.state)),
                Text(started(snap.submitted_at, self.now)),
                Text(duration(end - snap.submitted_at)),
                Text(f"{'?' if done is None else done}/{snap.nodes}"),
                Text(target(snap.params)),
            ))
        widths = [max([len(name), *(row[i].cell_len for row in rows)])
                  for i, (name, _) in enumerate(columns)]
        keep = list(range(len(columns)))
        if sum(widths[:-1]) + 2 * len(widths) + 6 > options.max_width:
            keep.remove(columns.index(("took", "right")))  # a narrow terminal: age, not length
        last = keep[-1]
        others = sum(widths[i] for i in keep[:-1]) + 2 * (len(keep) - 1)
        # the target is the one column that gives way on a narrow terminal
        widths[last] = max(min(widths[last], 40, options.max_width - others), 6)
        table = Table(box=None, pad_edge=False, header_style="bold")
        for i in keep:
            name, justify = columns[i]
            table.add_column(name, justify=justify, no_wrap=True, overflow="ellipsis",
                             width=widths[i])
        for row in rows:
            table.add_row(*(row[i] for i in keep))
        yield table
