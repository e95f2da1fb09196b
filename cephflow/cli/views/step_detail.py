"""``cephflow status ID --step S``: everything about one step, its whole error included.

The live tree shows the first lines of an error; this view is where the rest is read.
``StepDetail(snapshot, node_id)`` is pure.
"""

from __future__ import annotations

import json

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from cephflow.cli.views.event_line import timestamp
from cephflow.cli.views.style import NODE_GLYPH, NODE_STYLE, duration
from cephflow.cli.views.tree import node_elapsed
from cephflow.engine.state import WorkflowSnapshot


class StepDetail:
    """One node: state, task, dependencies, times, arguments, latest detail and full error.

    Args:
        snapshot: the workflow the node belongs to.
        node_id: the node to show (must be in ``snapshot.nodes``).
        now: the wall-clock time a running node's elapsed time is measured to.
    """

    def __init__(self, snapshot: WorkflowSnapshot, node_id: str, *, now: float):
        self.snapshot = snapshot
        self.node = snapshot.nodes[node_id]
        self.now = now

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        node = self.node
        title = Text()
        title.append(NODE_GLYPH[node.state], style=NODE_STYLE[node.state])
        title.append(f" {node.id}", style="bold")
        title.append(f"  {node.state.value}", style=NODE_STYLE[node.state])
        yield title
        yield _field("workflow", f"{self.snapshot.id} ({self.snapshot.runbook})")
        yield _field("step", node.step + ("  (finally)" if node.cleanup else ""))
        yield _field("task", node.task)
        if node.label:
            yield _field("item", node.label)
        if node.after:
            yield _field("after", ", ".join(node.after))
        if node.attempt:
            yield _field("try", str(node.attempt))
        if node.started_at is not None:
            yield _field("started", timestamp(node.started_at))
        if node.ended_at is not None and node.state.terminal:
            yield _field("ended", timestamp(node.ended_at))
        elapsed = node_elapsed(node, self.now)
        if elapsed is not None:
            yield _field("took" if node.state.terminal else "running for", duration(elapsed))
        if node.args:
            yield _field("args", json.dumps(node.args, sort_keys=True, default=str))
        if node.detail:
            yield _field("detail", node.detail)
        if node.output is not None:
            yield _field("output", json.dumps(node.output, sort_keys=True, default=str))
        if node.error:
            yield Text("error:", style="bold red")
            for line in node.error.rstrip().splitlines():
                yield Text("  " + line, style="red")


def _field(name: str, value: str) -> Text:
    text = Text(f"{name + ':':<13}", style="bold")
    text.append(value)
    return text
