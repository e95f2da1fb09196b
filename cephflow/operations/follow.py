"""Follow a workflow, the data side: its snapshot, moved forward by its event stream.

A ``Follower`` reads the snapshot once, then only the events (``XREAD BLOCK`` through the
engine's client), folding each into the snapshot with ``WorkflowSnapshot.apply``. It never
re-reads the whole workflow, so following 10,000 nodes costs what the events cost. How often
to read and how to show it is the front end's business (``cephflow.cli.follow``).

A follower that prints lines (a pipe, a log, ``--json``) starts with ``attached(snapshot)``:
what was already true when it attached (the state, the counts, every gate that waits for a
person and the command that opens it), since the events it reads next only say what changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from pydantic import BaseModel

from cephflow.engine.state import (
    Event,
    EventType,
    NodeSnapshot,
    NodeState,
    WorkflowSnapshot,
    WorkflowState,
)
from cephflow.hints import approve_command, reject_command
from cephflow.runbook.barrier import is_barrier
from cephflow.task_names import APPROVAL_TASK

BATCH = 2000
"""Events read per call: large enough that a busy stream is read in few round trips."""


class EventSource(Protocol):
    """What a follower needs from the engine's client."""

    def snapshot(self, wf_id: str) -> WorkflowSnapshot: ...

    def expanded(self, wf_id: str, expander: str) -> list[NodeSnapshot]: ...

    def events(self, wf_id: str, after_id: str, block_ms: int, count: int) -> list[Event]: ...


class Follower:
    """One workflow's snapshot, moved forward by its event stream.

    Args:
        source: the engine's client (or anything with ``snapshot`` and ``events``).
        wf_id: the full workflow id.
        batch: at most this many events per read (default ``BATCH``).
    """

    def __init__(self, source: EventSource, wf_id: str, *, batch: int | None = None):
        self.source = source
        self.wf_id = wf_id
        self.batch = batch or BATCH
        self.snapshot: WorkflowSnapshot = source.snapshot(wf_id)

    @property
    def done(self) -> bool:
        return self.snapshot.state.terminal

    def poll(self, block_ms: int, on_event: Callable[[Event], None] | None = None) -> int:
        """Read the next events (waiting up to ``block_ms`` for the first) and fold them in.

        ``on_event`` is called after each event is folded, so it sees the state that event made.
        Returns how many events were read.
        """
        events = self.source.events(self.wf_id, self.snapshot.last_event_id, block_ms, self.batch)
        for event in events:
            if event.type is EventType.EXPANDED and event.node and self.snapshot.is_new(event):
                # a runtime fan-out wrote its members: new nodes, which the events after
                # this one move on
                self.snapshot.set_members(event.node, self.source.expanded(self.wf_id,
                                                                           event.node))
            self.snapshot.apply(event)
            if on_event is not None:
                on_event(event)
        return len(events)


class OpenGate(BaseModel):
    """An approval gate that is reached and waits for a decision."""

    node: str
    step: str
    approvers: list[str]
    """Who may decide (empty: anyone)."""
    approve: str
    """The command that approves it."""
    reject: str
    """The command that rejects it (``--reason`` goes after it)."""


class Attached(BaseModel):
    """Where a workflow is when a follower attaches: the first thing a line follower prints."""

    type: str = "attached"
    """Tells this line from the event lines after it in ``--json`` output."""
    workflow: str
    runbook: str
    state: WorkflowState
    steps: int
    """Steps as the tree counts them (no barriers)."""
    steps_ended: int
    counts: dict[NodeState, int]
    """Steps per state."""
    open_gates: list[OpenGate]
    last_event_id: str
    """The events after this one follow."""


def open_gates(snapshot: WorkflowSnapshot) -> list[OpenGate]:
    """The gates of ``snapshot`` that are reached (queued or waiting) and not ended, in order."""
    return [_open_gate(snapshot.id, node) for node in snapshot.nodes.values()
            if node.task == APPROVAL_TASK
            and node.state in (NodeState.QUEUED, NodeState.RUNNING)]


def _open_gate(wf_id: str, node: NodeSnapshot) -> OpenGate:
    approvers = node.args.get("approvers") or []
    listed = [approvers] if isinstance(approvers, str) else [str(a) for a in approvers]
    return OpenGate(node=node.id, step=node.step, approvers=listed,
                    approve=approve_command(wf_id, node.id), reject=reject_command(wf_id, node.id))


def attached(snapshot: WorkflowSnapshot) -> Attached:
    """What a line follower says first about ``snapshot``."""
    steps = [node for node in snapshot.nodes.values() if not is_barrier(node)]
    counts = {state: 0 for state in NodeState}
    for node in steps:
        counts[node.state] += 1
    return Attached(
        workflow=snapshot.id, runbook=snapshot.runbook, state=snapshot.state, steps=len(steps),
        steps_ended=sum(1 for node in steps if node.state.terminal), counts=counts,
        open_gates=open_gates(snapshot), last_event_id=snapshot.last_event_id,
    )
