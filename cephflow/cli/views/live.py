"""What ``Live`` shows while following: the header, then the tree, within the terminal's height.

``LiveView(snapshot, now=..., height=...)`` composes ``WorkflowHeader`` and ``WorkflowTree``
and gives the tree whatever height the header leaves. Pure, like its parts.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult

from cephflow.cli.views.header import WorkflowHeader
from cephflow.cli.views.tree import WorkflowTree
from cephflow.engine.state import WorkflowSnapshot


class LiveView:
    """Header and tree of one workflow in at most ``height`` lines.

    Args:
        snapshot: the workflow's state to draw.
        now: the wall-clock time elapsed times are measured to.
        height: at most this many lines (default: the console's height).
    """

    def __init__(self, snapshot: WorkflowSnapshot, *, now: float, height: int | None = None):
        self.snapshot = snapshot
        self.now = now
        self.height = height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = self.height if self.height is not None else (options.height or console.height)
        width = options.max_width
        header = WorkflowHeader(self.snapshot, now=self.now).lines(width=width)
        yield from header[: max(height, 0)]
        tree = WorkflowTree(self.snapshot, now=self.now)
        yield from tree.lines(width=width, height=height - len(header))
