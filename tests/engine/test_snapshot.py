"""Folding events into a snapshot is idempotent and order-aware."""

from cephflow.engine.state import (
    Event,
    EventType,
    NodeSnapshot,
    NodeState,
    WorkflowSnapshot,
    WorkflowState,
)


def _snapshot() -> WorkflowSnapshot:
    return WorkflowSnapshot(
        id="wf1", runbook="demo", submitted_at=0.0,
        nodes={"a": NodeSnapshot(id="a", step="a", task="core.log")},
    )


def test_events_already_in_the_snapshot_are_ignored():
    snap = _snapshot()
    snap.apply(Event(id="5-0", ts=1, type=EventType.NODE_STATE, node="a", state="running"))
    snap.apply(Event(id="6-0", ts=2, type=EventType.NODE_STATE, node="a", state="succeeded"))
    snap.apply(Event(id="5-0", ts=1, type=EventType.NODE_STATE, node="a", state="running"))
    assert snap.nodes["a"].state is NodeState.SUCCEEDED
    assert snap.nodes["a"].started_at == 1 and snap.nodes["a"].ended_at == 2
    assert snap.last_event_id == "6-0"


def test_workflow_failure_keeps_the_failing_node_and_error():
    snap = _snapshot()
    snap.apply(Event(id="1-1", ts=3, type=EventType.WORKFLOW_STATE, state="failed", node="a", error="boom"))
    assert snap.state is WorkflowState.FAILED
    assert (snap.failed_node, snap.error, snap.ended_at) == ("a", "boom", 3)
    assert snap.counts()[NodeState.PENDING] == 1
