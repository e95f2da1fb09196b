"""The live tree of a workflow: its steps in dependency order, fitted to the terminal.

``WorkflowTree(snapshot, now=..., height=...)`` is a pure function of its arguments. An
operator looks at it for an hour while a host drains, so it stays calm: a ``foreach`` fan-out
is one line of counters that expands only its running and failed members, an included runbook
is a subtree that collapses to its counters once done, a failed step shows the first lines of
its error and where to read the rest, a waiting approval gate shows the command to type. It never takes more lines than it is given:
rows that do not fit are dropped by priority (finished steps first, then the far future,
never a failure before anything else) and each gap becomes one summary line. The compiler's
barrier nodes (``drain[*]``) are left out, as the plan leaves them out.

The rows are planned as light records first and turned into rich ``Text`` only when kept,
so a 10,000-node workflow costs one pass over its nodes per frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from cephflow.ceph.pacing import movement_of
from cephflow.cli.views.movement import movement_line
from cephflow.cli.views.style import (
    NODE_GLYPH,
    NODE_STYLE,
    duration,
    short_id,
    workflow_glyph,
    workflow_style,
)
from cephflow.engine.state import NodeSnapshot, NodeState, WorkflowSnapshot
from cephflow.hints import approve_command, status_command
from cephflow.operations.tree import (
    ACTIVE,
    Include,
    Item,
    group_counters,
    group_elapsed,
    group_state,
    no_worker_for,
    node_elapsed,
    steps_of,
    strip_prefix,
)
from cephflow.task_names import APPROVAL_TASK

__all__ = ["WorkflowTree", "group_counters", "group_state", "node_elapsed"]

ERROR_LINES = 2
"""Lines of a failed step's error shown in the tree; ``status ID --step S`` shows all."""
NAME_COLUMN_MAX = 40
"""Names are padded to a common column, but never beyond this many cells."""

_ACTIVE = ACTIVE

# Priorities: rows with lower values are dropped first when the terminal is too short.
_P_DONE, _P_PENDING, _P_QUEUED, _P_DETAIL, _P_RUNNING, _P_HINT, _P_VITAL = range(7)


@dataclass(slots=True)
class _Row:
    """One planned line: enough to decide whether it is kept, and to draw it if so."""

    prefix: str
    kind: str
    """``node``, ``group``, ``error``, ``hint``, ``approval`` or ``movement``."""
    priority: int
    order: int
    """Within a priority, rows with a smaller order are dropped first."""
    state: NodeState | None = None
    name: str = ""
    node: NodeSnapshot | None = None
    members: list[NodeSnapshot] | None = None
    text: str = ""


_PRIORITY = {
    NodeState.FAILED: _P_VITAL,
    NodeState.RUNNING: _P_RUNNING,
    NodeState.QUEUED: _P_QUEUED,
    NodeState.PENDING: _P_PENDING,
    NodeState.SUCCEEDED: _P_DONE,
    NodeState.SKIPPED: _P_DONE,
    NodeState.CANCELLED: _P_DONE,
}


_QUIET = frozenset(_PRIORITY) - {NodeState.FAILED, NodeState.RUNNING}


def _node_priority(state: NodeState, node: NodeSnapshot | None = None) -> int:
    if state is NodeState.RUNNING and node is not None and node.task == APPROVAL_TASK:
        return _P_VITAL
    return _PRIORITY[state]


class WorkflowTree:
    """The workflow at the root, then its steps; fits in ``height`` lines.

    Args:
        snapshot: the workflow's state to draw.
        now: the wall-clock time (seconds since the epoch) elapsed times are measured to.
        height: at most this many lines (default: the console's height).
    """

    def __init__(self, snapshot: WorkflowSnapshot, *, now: float, height: int | None = None):
        self.snapshot = snapshot
        self.now = now
        self.height = height

    # planning -----------------------------------------------------------------------------

    def _plan(self, width: int) -> list[_Row]:
        rows: list[_Row] = []
        self._plan_items(rows, steps_of(self.snapshot), "", "", width)
        for position, row in enumerate(rows):
            row.order = position if row.priority == _P_DONE else -position
        return rows

    def _plan_items(
        self, rows: list[_Row], items: list[Item], indent: str, prefix: str, width: int
    ) -> None:
        middle, end = indent + "├── ", indent + "└── "
        last = len(items) - 1
        quiet = _QUIET  # nodes with one line and no details: the bulk of a long chain
        for index, item in enumerate(items):
            branch = end if index == last else middle
            if isinstance(item, NodeSnapshot):
                state = item.state
                name = item.id[len(prefix):] if prefix else item.id
                if state in quiet:
                    rows.append(_Row(branch, "node", _PRIORITY[state], 0, state, name, item))
                else:
                    cont = indent + ("    " if index == last else "│   ")
                    self._plan_node(rows, item, branch, cont, name, width)
                continue
            cont = indent + ("    " if index == last else "│   ")
            if isinstance(item, Include):
                self._plan_include(rows, item, branch, cont, prefix, width)
            else:
                self._plan_group(rows, item, branch, cont, prefix, width)

    def _plan_include(
        self, rows: list[_Row], include: Include, branch: str, cont: str, prefix: str, width: int
    ) -> None:
        """One line of counters; its steps below it while it runs or after it failed."""
        state = group_state(include.members)
        active = state in (NodeState.FAILED, NodeState.RUNNING)
        priority = _P_VITAL if active else _node_priority(state)
        name = strip_prefix(include.name, prefix)
        rows.append(_Row(branch, "group", priority, 0, state, name, members=include.members))
        if active:
            self._plan_items(rows, include.items, cont, include.name + ".", width)

    def _plan_group(
        self,
        rows: list[_Row],
        members: list[NodeSnapshot],
        branch: str,
        cont: str,
        prefix: str,
        width: int,
    ) -> None:
        state = group_state(members)
        priority = _P_VITAL if state in (NodeState.FAILED, NodeState.RUNNING) else _node_priority(state)
        name = strip_prefix(members[0].group or members[0].step, prefix)
        rows.append(_Row(branch, "group", priority, 0, state, name, members=members))
        shown = [m for m in members if m.state in (NodeState.RUNNING, NodeState.FAILED)]
        for index, member in enumerate(shown):
            last = index == len(shown) - 1
            child_branch, child_cont = ("└── ", "    ") if last else ("├── ", "│   ")
            name = member.label or strip_prefix(member.id, prefix)
            self._plan_node(rows, member, cont + child_branch, cont + child_cont, name, width)

    def _plan_node(
        self, rows: list[_Row], node: NodeSnapshot, branch: str, cont: str, name: str, width: int
    ) -> None:
        state = node.state
        rows.append(_Row(branch, "node", _node_priority(state, node), 0, state, name, node))
        if state is not NodeState.FAILED and state is not NodeState.RUNNING:
            return  # the common case, kept short: a 10,000-step chain passes here per frame
        indent = cont + "  "
        if state is NodeState.FAILED and node.error:
            lines = [line for line in node.error.strip().splitlines() if line.strip()]
            shown = lines[:ERROR_LINES]
            for number, line in enumerate(shown):
                priority = _P_VITAL if number == 0 else _P_DETAIL
                rows.append(_Row(indent, "error", priority, 0, text=line))
            cut = len(lines) > len(shown) or any(len(indent) + len(s) > width for s in shown)
            if cut:
                more = len(lines) - len(shown)
                lead = f"… {more} more line{'s' if more != 1 else ''}: " if more else "… full error: "
                command = status_command(self.snapshot.id, node.id)
                rows.append(_Row(indent, "hint", _P_HINT, 0, text=lead + command))
        elif state is NodeState.RUNNING and (movement := movement_of(node.progress)):
            # a weight move: each OSD's way to its target, what is left, the ETA
            rows.append(_Row(indent, "movement", _P_DETAIL, 0, text=movement_line(movement)))
        elif node.state is NodeState.RUNNING and node.task == APPROVAL_TASK:
            command = approve_command(self.snapshot.id, node.id)
            detail = node.detail or ""
            # the gate may say it itself, in a line wide enough to read it whole
            if command not in detail or len(cont) + len(name) + len(detail) + 16 > width:
                rows.append(
                    _Row(indent, "approval", _P_VITAL, 0, text=f"waiting for approval: {command}")
                )

    # fitting ------------------------------------------------------------------------------

    @staticmethod
    def _fit(rows: list[_Row], budget: int) -> list[bool]:
        """Which rows to drop so that kept rows plus one summary per gap fit in ``budget``."""
        n = len(rows)
        dropped = [False] * n
        if n <= budget:
            return dropped
        kept, gaps = n, 0
        keys = [(row.priority, row.order) for row in rows]
        for i in sorted(range(n), key=keys.__getitem__):
            if kept + gaps <= budget:
                break
            left = i > 0 and dropped[i - 1]
            right = i < n - 1 and dropped[i + 1]
            dropped[i] = True
            kept -= 1
            gaps += 1 - int(left) - int(right)
        return dropped

    # drawing ------------------------------------------------------------------------------

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        height = self.height if self.height is not None else (options.height or console.height)
        yield from self.lines(width=width, height=height)

    def lines(self, *, width: int, height: int) -> Iterator[Text]:
        """The tree as at most ``height`` one-row lines (each cut to ``width`` with an ellipsis)."""
        if height <= 0:
            return
        yield self._fitted(self._root_line(), width)
        if height == 1:
            return
        rows = self._plan(width)
        dropped = self._fit(rows, height - 1)
        kept = [row for row, gone in zip(rows, dropped, strict=True) if not gone]
        column = min(
            max((len(r.prefix) + 2 + len(r.name) for r in kept if r.kind in ("node", "group")), default=0),
            NAME_COLUMN_MAX,
        )
        gap: list[_Row] = []
        for row, gone in zip(rows, dropped, strict=True):
            if gone:
                gap.append(row)
                continue
            if gap:
                yield self._fitted(self._summary(gap), width)
                gap = []
            yield self._fitted(self._draw(row, column), width)
        if gap:
            yield self._fitted(self._summary(gap), width)

    @staticmethod
    def _fitted(text: Text, width: int) -> Text:
        text.rstrip()
        text.no_wrap = True
        text.overflow = "ellipsis"
        text.truncate(width, overflow="ellipsis")
        return text

    def _root_line(self) -> Text:
        snap = self.snapshot
        text = Text()
        text.append(workflow_glyph(snap.state), style=workflow_style(snap.state))
        text.append(f" {snap.runbook} ", style="bold")
        text.append(short_id(snap.id), style="cyan")
        text.append("  ")
        text.append(snap.state.value, style=workflow_style(snap.state))
        if snap.failed_node:
            text.append(f"  at {snap.failed_node}", style="red")
        return text

    def _draw(self, row: _Row, column: int) -> Text:
        text = Text(row.prefix, style="dim")
        if row.kind in ("error", "hint", "approval", "movement"):
            style = {"error": "red", "hint": "dim", "approval": "bold magenta",
                     "movement": "cyan"}[row.kind]
            text.append(row.text, style=style)
            return text
        assert row.state is not None
        text.append(NODE_GLYPH[row.state], style=NODE_STYLE[row.state])
        text.append(" ")
        text.append(row.name, style="bold" if row.state in _ACTIVE else "")
        text.append(" " * max(column - len(row.prefix) - 2 - len(row.name), 0))
        if row.kind == "group":
            members = row.members or []
            text.append("  " + group_counters(members))
            elapsed = group_elapsed(members, self.now)
            if elapsed is not None:
                text.append("  " + duration(elapsed), style="dim")
            return text
        node = row.node
        assert node is not None
        elapsed = node_elapsed(node, self.now)
        if elapsed is not None:
            text.append("  " + duration(elapsed), style="dim")
        if node.cleanup:
            text.append("  (finally)", style="dim")
        if node.attempt > 1:
            text.append(f"  try {node.attempt}", style="yellow")
        if node.detail:
            text.append("  " + node.detail, style="" if node.state in _ACTIVE else "dim")
        stalled = no_worker_for(node, self.now)
        if stalled is not None:
            text.append(f"  no worker has run this step for {stalled:.0f} s (is a worker "
                        "running?)", style="yellow")
        return text

    @staticmethod
    def _summary(gap: list[_Row]) -> Text:
        steps = [row for row in gap if row.kind in ("node", "group")]
        anchor = steps[-1] if steps else gap[-1]
        text = Text(anchor.prefix, style="dim")
        if not steps:
            text.append(f"… {len(gap)} more line{'s' if len(gap) != 1 else ''}", style="dim")
            return text
        counts: dict[NodeState, int] = {}
        for row in steps:
            assert row.state is not None
            counts[row.state] = counts.get(row.state, 0) + 1
        detail = " ".join(f"{n} {NODE_GLYPH[s]}" for s, n in sorted(counts.items(), key=_by_order))
        text.append(f"… {len(steps)} more step{'s' if len(steps) != 1 else ''} ({detail})", style="dim")
        return text


_STATE_ORDER = {state: index for index, state in enumerate(NODE_GLYPH)}


def _by_order(item: tuple[NodeState, int]) -> int:
    return _STATE_ORDER[item[0]]
