"""One plain line per event, for logs: what a follower prints when stdout is not a terminal.

``event_line(event, snapshot)`` is pure; the snapshot (already folded with the event) gives
context the event does not carry, such as how long a node ran. Lines start with a UTC
timestamp so that CI logs, ``| tee`` files and cron mails can be read side by side.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text

from cephflow.cli.views.header import progress, workflow_elapsed
from cephflow.cli.views.pause_line import pause_event_text, pause_text
from cephflow.cli.views.style import (
    duration,
    params_text,
    short_id,
    workflow_glyph,
    workflow_style,
)
from cephflow.cli.views.tree import node_elapsed
from cephflow.engine.state import Event, EventType, NodeState, WorkflowSnapshot
from cephflow.operations.follow import OpenGate
from cephflow.runbook.barrier import is_barrier


def timestamp(ts: float) -> str:
    """``2026-11-25T12:30:01Z``: UTC, to the second."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _first_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def attach_line(snapshot: WorkflowSnapshot, now: float) -> Text:
    """The line printed once when a plain follower attaches: which workflow, and where it is."""
    done, total = progress(snapshot)
    params = params_text(snapshot.params)
    paused = f"  {pause_text(snapshot.pause)}" if snapshot.pause is not None else ""
    return Text(
        f"{timestamp(now)}  workflow {snapshot.id} {snapshot.runbook}"
        f"{'  ' + params if params else ''}  {snapshot.state.value}  {done}/{total} steps ended"
        f"{paused}"
    )


def gate_line(gate: OpenGate, now: float) -> Text:
    """A line for a gate that already waited when the follower attached: what opens it."""
    who = ", ".join(gate.approvers) if gate.approvers else "anyone"
    return Text(f"{timestamp(now)}  {gate.node}  waits for approval ({who}): {gate.approve}")


def event_line(event: Event, snapshot: WorkflowSnapshot) -> Text | None:
    """The line for ``event``; None for an event that says nothing new (or a barrier's)."""
    what = _describe(event, snapshot)
    if what is None:
        return None
    return Text(f"{timestamp(event.ts)}  {what}")


def _describe(event: Event, snapshot: WorkflowSnapshot) -> str | None:
    if event.type is EventType.WORKFLOW_SUBMITTED:
        return f"workflow {short_id(snapshot.id)} submitted: {snapshot.runbook}"
    if event.type is EventType.WORKFLOW_STATE:
        text = f"workflow {short_id(snapshot.id)} {event.state}"
        if event.node:
            text += f" at {event.node}"
        if event.error:
            text += f": {_first_line(event.error)}"
        return text
    if event.type is EventType.WORKFLOW_PAUSE:
        return f"workflow {short_id(snapshot.id)} {pause_event_text(event)}"
    name = event.node or "?"
    node = snapshot.nodes.get(name)
    if node is not None and is_barrier(node):
        return None  # the compiler's, not the runbook's: the tree does not show it either
    if event.type is EventType.NODE_STATE:
        text = f"{name}  {event.state}"
        if node is not None and event.state and NodeState(event.state).terminal:
            elapsed = node_elapsed(node, event.ts)
            if elapsed is not None:
                text += f"  {duration(elapsed)}"
        if event.attempt and event.attempt > 1:
            text += f"  try {event.attempt}"
        if event.error and event.state == NodeState.FAILED.value:
            text += f"  {_first_line(event.error)}"
        if event.detail:  # why it was skipped, what it expanded into, why it was re-sent
            text += f"  {_first_line(event.detail)}"
        return text
    if event.type is EventType.NODE_PROGRESS:
        return f"{name}  {event.detail}" if event.detail else None
    if event.type is EventType.NODE_RETRY:
        delay = f" in {duration(float(event.data.get('delay', 0)))}" if "delay" in event.data else ""
        return f"{name}  retry{delay} after try {event.attempt}: {_first_line(event.error)}"
    if event.type is EventType.APPROVAL:
        data = event.data
        text = f"{name}  {data.get('decision', '?')} by {data.get('by', '?')}"
        if data.get("reason"):
            text += f": {data['reason']}"
        return text
    return None


def outcome_line(snapshot: WorkflowSnapshot) -> Text:
    """How the workflow ended (or where it is, if it has not): the last line of every follow."""
    end = snapshot.ended_at or snapshot.submitted_at
    text = Text()
    text.append(workflow_glyph(snapshot.state), style=workflow_style(snapshot.state))
    text.append(f" workflow {snapshot.id} {snapshot.state.value}", style="bold")
    text.append(f" after {duration(workflow_elapsed(snapshot, end))}")
    if snapshot.failed_node:
        text.append(f" at {snapshot.failed_node}", style="red")
        node = snapshot.nodes.get(snapshot.failed_node)
        error = snapshot.error or (node.error if node else None)
        if error:
            text.append(f": {_first_line(error)}", style="red")
    return text
