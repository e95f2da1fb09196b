"""States, events and snapshots: the engine's public view of a workflow.

The engine writes per-node and per-workflow state into Redis hashes and appends every
transition to a per-workflow stream as an ``Event``. A follower reads a ``WorkflowSnapshot``
once and then folds events into it with ``WorkflowSnapshot.apply``: the same pure function
serves a follower that attached at the start and one that attached late.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class NodeState(StrEnum):
    """Where a node is in its life. Transitions happen in the engine's Lua scripts only."""

    PENDING = "pending"
    """Waiting for dependencies (or, for a cleanup node, for the main part to end)."""
    QUEUED = "queued"
    """Dependencies done; a message has been (or is about to be) sent."""
    RUNNING = "running"
    """A worker claimed it; also between two checks of a waiting step."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Its ``when`` was false: it never ran; its dependents treat it as done."""
    CANCELLED = "cancelled"
    """It never ran (or was stopped) because the workflow failed or was cancelled."""

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL_NODE


PROGRESS_DATA = "progress"
"""The key of a progress line's data that is kept as the node's progress (``NodeSnapshot.
progress``, the ``progress`` hash): a JSON object, replaced by the next one."""

_TERMINAL_NODE = {NodeState.SUCCEEDED, NodeState.FAILED, NodeState.SKIPPED, NodeState.CANCELLED}


class WorkflowState(StrEnum):
    """Where a workflow is in its life."""

    SUBMITTING = "submitting"
    """Its DAG is being written; ``start.lua`` takes its locks and moves it to RUNNING.
    Readers see it as RUNNING (``shown``). A submit that died here is finished (started, or
    removed when its writes are incomplete) by the reconciler after
    ``Settings.submit_grace_seconds``; ``cancel`` ends it CANCELLED at once."""
    RUNNING = "running"
    FAILING = "failing"
    """A step failed: nothing new starts, running steps finish, then cleanup runs."""
    CANCELLING = "cancelling"
    """Cancelled by an operator: as FAILING, ends CANCELLED."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (WorkflowState.SUCCEEDED, WorkflowState.FAILED, WorkflowState.CANCELLED)

    @property
    def shown(self) -> WorkflowState:
        """The state readers see: SUBMITTING is an instant of ``submit``, shown as RUNNING."""
        return WorkflowState.RUNNING if self is WorkflowState.SUBMITTING else self


class WorkflowPhase(StrEnum):
    """Which part of a workflow may start nodes (meta field ``phase``)."""

    MAIN = "main"
    """The runbook's steps; its ``finally`` steps wait."""
    CLEANUP = "cleanup"
    """The main part has ended: the ``finally`` steps run."""
    DONE = "done"
    """Both parts have ended: the workflow has its final state."""


class EventType(StrEnum):
    WORKFLOW_SUBMITTED = "workflow_submitted"
    WORKFLOW_STATE = "workflow_state"
    """The workflow's state changed (``state`` holds the new one)."""
    NODE_STATE = "node_state"
    """A node's state changed (``node``, ``state``; ``error`` on failure; ``attempt``)."""
    NODE_PROGRESS = "node_progress"
    """A task published a progress line (``node``, ``detail``, ``data``)."""
    NODE_RETRY = "node_retry"
    """A try failed and another is scheduled (``node``, ``error``, ``attempt``, ``delay``)."""
    APPROVAL = "approval"
    """Someone approved or rejected a gate (``node``, ``data``: decision, by, reason)."""
    EXPANDED = "expanded"
    """A runtime fan-out wrote its members (``node``: the expander, ``detail``: how many);
    readers load the new nodes' specs."""
    WORKFLOW_PAUSE = "workflow_pause"
    """The workflow was paused or its pause lifted (``data``: ``paused``, and when paused
    ``by``, ``at``, ``reason``; lifted: ``by``, empty when its end lifted it)."""


class Event(BaseModel):
    """One entry of a workflow's event stream."""

    id: str = ""
    """The stream entry id (``1700000000000-0``), set when read back."""
    ts: float
    type: EventType
    node: str | None = None
    state: str | None = None
    detail: str | None = None
    error: str | None = None
    attempt: int | None = None
    worker: str | None = None
    """``node_state`` running: who started the run (``NodeSnapshot.worker``)."""
    data: dict[str, Any] = Field(default_factory=dict)


class NodeSnapshot(BaseModel):
    """A node's current state, as stored and as followers show it."""

    id: str
    step: str
    task: str
    after: list[str] = Field(default_factory=list)
    group: str | None = None
    label: str | None = None
    cleanup: bool = False
    state: NodeState = NodeState.PENDING
    attempt: int = 0
    started_at: float | None = None
    ended_at: float | None = None
    detail: str | None = None
    """The latest progress line."""
    progress: dict[str, Any] | None = None
    """The latest measured progress the task published (``data[PROGRESS_DATA]`` of a
    progress line): for a weight move ``{"movement": ...}`` (tasks/ceph/pace.py)."""
    error: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    queued_since: float | None = None
    """While queued and not yet taken by a worker: since when (its dispatch)."""
    expander: bool = False
    """A runtime fan-out's expander: the members of its step's group come from it."""
    output: dict[str, Any] | None = None
    """What its task returned, read only where one step is shown (``status --step``)."""
    worker: str | None = None
    """Who started its latest run: the Celery worker's name and its process
    (``<name> <host>:<pid>``)."""


class Pause(BaseModel):
    """Who paused a workflow, when, and why (meta ``paused_by``, ``paused_at``,
    ``pause_reason``): while it is set, no new main step of the workflow starts."""

    by: str
    at: float
    reason: str = ""

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> Pause | None:
        """The pause a workflow's meta holds, or None when it is not paused."""
        if not meta.get("paused_by"):
            return None
        return cls(by=meta["paused_by"], at=float(meta.get("paused_at") or 0),
                   reason=meta.get("pause_reason") or "")


class WorkflowSnapshot(BaseModel):
    """A workflow's state at one stream position; ``apply`` moves it forward."""

    id: str
    runbook: str
    params: dict[str, Any] = Field(default_factory=dict)
    given: dict[str, Any] | None = None
    """The params as the user typed them (secrets redacted); None for a workflow submitted
    without them (before they were recorded, or not from a command line)."""
    state: WorkflowState = WorkflowState.RUNNING
    submitted_at: float
    submitted_by: str = ""
    ended_at: float | None = None
    failed_node: str | None = None
    error: str | None = None
    cluster: str | None = None
    groups: dict[str, int | None] = Field(default_factory=dict)
    """Fan-out id -> its concurrency limit."""
    pause: Pause | None = None
    """Set while the workflow is paused (``cephflow pause``)."""
    moves_data: bool = False
    """Its runbook makes Ceph move data (``Dag.moves_data``): a pause freezes the movement."""
    nodes: dict[str, NodeSnapshot] = Field(default_factory=dict)
    """In topological order (the DAG's order)."""
    last_event_id: str = "0-0"
    """The stream position this snapshot includes; a follower reads on from here."""

    def is_new(self, event: Event) -> bool:
        """Is ``event`` after the position this snapshot includes?"""
        return not event.id or _stream_id(event.id) > _stream_id(self.last_event_id)

    def set_members(self, expander: str, members: list[NodeSnapshot]) -> None:
        """A runtime fan-out wrote ``members``: they follow their expander, in their order,
        in place of any it wrote before (a re-run expands again)."""
        found = self.nodes.get(expander)
        if found is None:
            return
        nodes: dict[str, NodeSnapshot] = {}
        for node_id, node in self.nodes.items():
            if node.group == found.step and node_id != expander:
                continue
            nodes[node_id] = node
            if node_id == expander:
                nodes.update((m.id, m) for m in members)
        self.nodes = nodes

    def apply(self, event: Event) -> None:
        """Fold one event into the snapshot (events at or before ``last_event_id`` are ignored)."""
        if event.id and _stream_id(event.id) <= _stream_id(self.last_event_id):
            return
        if event.id:
            self.last_event_id = event.id
        if event.type is EventType.WORKFLOW_STATE and event.state:
            self.state = WorkflowState(event.state)
            if self.state is WorkflowState.RUNNING:  # resumed: the last failure is history
                self.ended_at = self.failed_node = self.error = None
            if self.state.terminal:
                self.ended_at = event.ts
            if event.node:
                self.failed_node = event.node
            if event.error:
                self.error = event.error
            return
        if event.type is EventType.WORKFLOW_PAUSE:
            self.pause = (Pause(by=event.data.get("by", ""), at=event.data.get("at", event.ts),
                                reason=event.data.get("reason", ""))
                          if event.data.get("paused") else None)
            return
        node = self.nodes.get(event.node or "")
        if node is None:
            return
        if event.type is EventType.NODE_STATE and event.state:
            node.state = NodeState(event.state)
            if event.attempt is not None:
                node.attempt = event.attempt
            if event.worker:
                node.worker = event.worker
            node.queued_since = event.ts if node.state is NodeState.QUEUED else None
            if node.state is NodeState.RUNNING and node.started_at is None:
                node.started_at = event.ts
            if node.state.terminal:
                node.ended_at = event.ts
            if event.error:
                node.error = event.error
            if node.state in (NodeState.QUEUED, NodeState.PENDING):
                node.ended_at = None
                node.error = None
            if node.state is NodeState.PENDING:  # reset by a resume: its last run is history
                node.started_at = node.detail = node.progress = None
                node.attempt = event.attempt or 0
            if event.detail:  # why it was skipped, how many members it expanded into
                node.detail = event.detail
        elif event.type is EventType.NODE_PROGRESS:
            node.detail = event.detail
            if isinstance(event.data.get(PROGRESS_DATA), dict):
                node.progress = event.data[PROGRESS_DATA]
        elif event.type is EventType.NODE_RETRY:
            node.error = event.error
            if event.attempt is not None:
                node.attempt = event.attempt
        elif event.type is EventType.APPROVAL:
            decision = event.data.get("decision", "")
            node.detail = f"{decision} by {event.data.get('by', '?')}"

    def counts(self) -> dict[NodeState, int]:
        result = {state: 0 for state in NodeState}
        for node in self.nodes.values():
            result[node.state] += 1
        return result


class WorkflowSummary(BaseModel):
    """One line of ``cephflow status``: a workflow without its nodes."""

    id: str
    runbook: str
    state: WorkflowState
    submitted_at: float
    submitted_by: str = ""
    ended_at: float | None = None
    failed_node: str | None = None
    error: str | None = None
    nodes: int = 0
    ended_nodes: int = 0
    """Nodes that ended (succeeded, failed, skipped or cancelled), from the engine's counters."""
    params: dict[str, Any] = Field(default_factory=dict)
    given: dict[str, Any] | None = None
    """As ``WorkflowSnapshot.given``."""
    pause: Pause | None = None
    """As ``WorkflowSnapshot.pause``."""
    cluster: str | None = None
    """The cluster it works on (meta ``cluster``)."""


class HistoryAction(StrEnum):
    """What a person did, as the history records it (``keys.history``)."""

    SUBMITTED = "submitted"
    """Ran a runbook: the workflow started (``detail``: its params, secrets redacted)."""
    REFUSED = "refused"
    """Tried to run one and was refused: a lock it needs is held (``detail`` says which)."""
    APPROVED = "approved"
    REJECTED = "rejected"
    """Decided an approval gate (``step``: the gate; ``detail``: the reason, ``early``)."""
    CANCELLED = "cancelled"
    RESUMED = "resumed"
    """Resumed a failed or cancelled workflow (``step``: the step of ``--from``, if any)."""
    RETRIED = "retried"
    """Retried a failed step (``step``)."""
    PAUSED = "paused"
    """Paused a running workflow (``detail``: the reason)."""
    UNPAUSED = "unpaused"
    """Lifted a workflow's pause (``detail``: how many held steps were sent)."""


class HistoryEntry(BaseModel):
    """One entry of the history: who did what to which workflow, and when."""

    id: str
    """The stream entry id (``1700000000000-0``): entries sort by it."""
    ts: float
    """When (Redis TIME, epoch seconds)."""
    action: HistoryAction
    user: str
    host: str = ""
    workflow: str
    runbook: str = ""
    step: str = ""
    detail: str = ""


def _stream_id(value: str) -> tuple[int, int]:
    ms, _, seq = value.partition("-")
    return int(ms or 0), int(seq or 0)
