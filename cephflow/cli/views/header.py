"""The two header lines above the live tree: what runs where, and how far it has got.

``WorkflowHeader(snapshot, now=...)``: runbook, id, state, elapsed time, cluster and the params the
user gave (as typed) on the first line; a progress bar over all nodes, the count, the percentage and the time left
(``cephflow.operations.eta``) on the second; while it is paused, a third: who paused it, when, why. Pure: the same snapshot and ``now`` always draw the same two lines.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from cephflow.cli.views.pause_line import pause_text
from cephflow.cli.views.style import (
    duration,
    params_text,
    short_id,
    shown_cluster,
    workflow_style,
)
from cephflow.engine.state import WorkflowSnapshot
from cephflow.operations.eta import Outlook, outlook
from cephflow.runbook.barrier import is_barrier

BAR_WIDTH = 30
"""Cells of the progress bar (fewer on a narrow terminal)."""


def progress(snapshot: WorkflowSnapshot) -> tuple[int, int]:
    """(steps that ended, all steps): ended counts failed, skipped and cancelled too.

    Barrier nodes are not counted: the tree does not show them, so the count would not add up.
    """
    steps = [node for node in snapshot.nodes.values() if not is_barrier(node)]
    return sum(1 for node in steps if node.state.terminal), len(steps)


def workflow_elapsed(snapshot: WorkflowSnapshot, now: float) -> float:
    end = snapshot.ended_at if snapshot.state.terminal and snapshot.ended_at else now
    return end - snapshot.submitted_at


def outlook_text(told: Outlook) -> str:
    """``ETA 15s``, ``ETA 15s to approval``, ``waiting for approval`` or ``ETA —``."""
    if told.waiting_for_approval:
        return "waiting for approval"
    text = f"ETA {duration(told.seconds)}" if told.seconds is not None else "ETA —"
    return text + (" to approval" if told.gate_ahead else "")


class WorkflowHeader:
    """Runbook, id, state, elapsed, cluster, params; then bar, count, percentage and ETA.

    Args:
        snapshot: the workflow's state to summarise.
        now: the wall-clock time elapsed and ETA are measured to.
    """

    def __init__(self, snapshot: WorkflowSnapshot, *, now: float):
        self.snapshot = snapshot
        self.now = now

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.lines(width=options.max_width)

    def lines(self, *, width: int) -> list[Text]:
        snap = self.snapshot
        # what identifies the run comes first, so a narrow terminal cuts only the params
        first = Text()
        first.append(snap.runbook, style="bold")
        first.append(f"  ·  {short_id(snap.id)}  ·  ")
        # "failing 1m02s", "succeeded 4m10s": the state and how long it has run read as one
        first.append(snap.state.value, style=workflow_style(snap.state))
        first.append(" " + duration(workflow_elapsed(snap, self.now)))
        cluster = shown_cluster(snap.cluster)
        if cluster:
            first.append("  ·  cluster ")
            first.append(cluster, style="cyan")
        # the params the user gave, as typed; every resolved one for a workflow without them
        params = params_text(snap.params if snap.given is None else snap.given)
        if params:
            first.append("  ·  " + params)

        done, total = progress(snap)
        ratio = done / total if total else 1.0
        bar_width = max(min(BAR_WIDTH, width - 30), 5)
        filled = round(bar_width * ratio)
        second = Text()
        second.append("━" * filled, style=workflow_style(snap.state))
        second.append("─" * (bar_width - filled), style="dim")
        second.append(f"  {done}/{total}  {ratio:4.0%}")
        if not snap.state.terminal:  # an ended run's state is on the first line
            second.append("  " + outlook_text(outlook(snap, self.now)))
        lines = [first, second]
        if snap.pause is not None and not snap.state.terminal:
            lines.append(Text(pause_text(snap.pause), style="bold yellow"))
        for line in lines:
            line.no_wrap = True
            line.overflow = "ellipsis"
            line.truncate(width, overflow="ellipsis")
        return lines
