"""Node events carry exactly the fields their transition set (no field shifted into another)."""

from __future__ import annotations

import pytest

from cephflow.engine.state import EventType, NodeState, WorkflowState
from tests.engine.support import dag, node

pytestmark = pytest.mark.services


def test_a_succeeded_node_event_has_no_error_and_keeps_its_attempt(client, celery_worker):
    wf = client.submit(dag(node("a"), node("b", task="test.fail", after=["a"],
                                           args={"message": "disk on fire"})), user="tester")
    assert client.wait(wf, timeout=20) is WorkflowState.FAILED
    ended = {e.node: e for e in client.events(wf, "0-0", count=1000)
             if e.type is EventType.NODE_STATE and e.state in ("succeeded", "failed")}
    assert ended["a"].state == "succeeded"
    assert ended["a"].error is None
    assert ended["a"].attempt == 1
    assert (ended["b"].state, ended["b"].error, ended["b"].attempt) == ("failed", "disk on fire", 1)
    # a follower that folds every event from the start ends where the snapshot is
    folded = client.snapshot(wf)
    folded.last_event_id = "0-0"
    for n in folded.nodes.values():
        n.state, n.error, n.attempt = NodeState.PENDING, None, 0
    for event in client.events(wf, "0-0", count=1000):
        folded.apply(event)
    assert {n.id: (n.state, n.error, n.attempt) for n in folded.nodes.values()} == {
        "a": (NodeState.SUCCEEDED, None, 1), "b": (NodeState.FAILED, "disk on fire", 1)}
