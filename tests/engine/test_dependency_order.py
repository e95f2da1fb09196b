"""Audit of dependency order with a slow parent: a node must not start before its LAST parent
ended. Instant tasks cannot show this (the last parent usually ends before the child is picked
up anyway); one parent that sleeps makes a child released one parent early run visibly early.
"""

from __future__ import annotations

import pytest

from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import WorkflowState
from cephflow.runbook.dag import Dag, Node
from cephflow.settings import Settings
from tests.engine.recorded import recorded
from tests.fixtures.redis_server import NAMESPACE

pytestmark = pytest.mark.services


@pytest.fixture
def client(redis_url, celery_worker) -> WorkflowClient:
    engine = WorkflowClient(Settings(redis_url=redis_url, namespace=NAMESPACE))
    yield engine
    engine.close()


def node(id: str, after: list[str] | None = None, seconds: float | None = None) -> Node:
    if seconds is None:
        return Node(id=id, step=id.split("[")[0], task="test.record", after=after or [])
    return Node(id=id, step=id.split("[")[0], task="test.sleep", args={"seconds": seconds},
                after=after or [])


def ended_order(client: WorkflowClient, wf: str) -> list[str]:
    return client.redis.lrange(recorded(NAMESPACE, wf, "order"), 0, -1)


def check(client: WorkflowClient, dag: Dag) -> None:
    wf = client.submit(dag)
    assert client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
    order = ended_order(client, wf)
    assert sorted(order) == sorted(n.id for n in dag.nodes)  # each once
    snap = client.snapshot(wf)
    for n in dag.nodes:
        for dep in n.after:
            assert order.index(dep) < order.index(n.id), (dep, n.id, order)
            assert snap.nodes[n.id].started_at >= snap.nodes[dep].ended_at, (dep, n.id)


def test_diamond_child_waits_for_its_slow_parent(client):
    check(client, Dag(runbook="audit", source="tests", nodes=[
        node("a"), node("b", ["a"]), node("c", ["a"], seconds=1.0), node("d", ["b", "c"])]))


def test_stage_join_waits_for_its_slowest_member(client):
    """Two stages of 4 (the size from which the engine counts down through one join)."""
    first = [node(f"s1[{i}]", ["start"], seconds=1.0 if i == 0 else None) for i in range(4)]
    second = [node(f"s2[{i}]", [n.id for n in first]) for i in range(4)]
    check(client, Dag(runbook="audit", source="tests", nodes=[node("start"), *first, *second]))


def test_retries_wait_their_growing_backoff(client):
    """A retry that ignored its backoff would still succeed; the gaps between tries show it."""
    from cephflow.engine.state import EventType
    from cephflow.runbook.dag import RetryPolicy

    flaky = Node(id="f", step="f", task="test.flaky", args={"succeed_on": 3},
                 retry=RetryPolicy(attempts=3, backoff=0.8, factor=2))
    wf = client.submit(Dag(runbook="audit", source="tests", nodes=[flaky]))
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    events = client.events(wf, "0-0", count=1000)
    retries = [e for e in events if e.type is EventType.NODE_RETRY]
    assert [e.attempt for e in retries] == [2, 3]
    [done] = [e for e in events
              if e.type is EventType.NODE_STATE and e.node == "f" and e.state == "succeeded"]
    # each try is instant, so a retry event to the next try's end is the wait before that try
    first, second = retries[1].ts - retries[0].ts, done.ts - retries[1].ts
    assert first >= 0.8 * 0.9, first
    assert second >= 1.6 * 0.9, second


def test_a_message_with_a_wrong_token_does_not_run_a_step_waiting_out_its_backoff(client):
    """A stray or duplicate message for a node waiting for its retry must be dropped: run, it
    would start the next try before the backoff has passed."""
    from cephflow.engine import dispatch
    from cephflow.engine.state import EventType
    from cephflow.runbook.dag import RetryPolicy
    from tests.fixtures.services import wait_until

    flaky = Node(id="f", step="f", task="test.flaky", args={"succeed_on": 2},
                 retry=RetryPolicy(attempts=2, backoff=2.0, factor=1))
    wf = client.submit(Dag(runbook="audit", source="tests", nodes=[flaky]))

    def retry_event():
        return [e for e in client.events(wf, "0-0", count=1000)
                if e.type is EventType.NODE_RETRY]

    wait_until(retry_event, timeout=30, what="the first try failed")
    dispatch.send(client.app, wf, [("f", "not-the-token")], countdown=0)
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    [retry] = retry_event()
    [done] = [e for e in client.events(wf, "0-0", count=1000)
              if e.type is EventType.NODE_STATE and e.node == "f" and e.state == "succeeded"]
    assert done.ts - retry.ts >= 2.0 * 0.9
    assert client.redis.lrange(recorded(NAMESPACE, wf, "tries"), 0, -1) == ["f:1", "f:2"]
