"""Shapes of workflows run on a real worker: each node once, in dependency order."""

from __future__ import annotations

import pytest

from cephflow.engine.state import NodeState, WorkflowState
from tests.engine.support import assert_exactly_once_in_order, dag, node, stages

pytestmark = pytest.mark.services


def test_diamond_runs_each_node_once_in_order(client, celery_worker):
    d = dag(node("a"), node("b", after=["a"]), node("c", after=["a"]),
            node("d", after=["b", "c"]))
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert_exactly_once_in_order(client, wf, d)
    snap = client.snapshot(wf)
    assert snap.state is WorkflowState.SUCCEEDED
    assert all(n.state is NodeState.SUCCEEDED for n in snap.nodes.values())
    assert snap.nodes["d"].after == ["b", "c"]
    assert snap.submitted_by == "tester"


def test_wide_fan_out_and_fan_in(client, celery_worker):
    width = 300
    leaves = [node(f"fan[{i}]", after=["start"], group="fan") for i in range(width)]
    d = dag(node("start"), *leaves, node("join", after=[n.id for n in leaves]))
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
    assert_exactly_once_in_order(client, wf, d)
    assert client.snapshot(wf).counts()[NodeState.SUCCEEDED] == width + 2


def test_chain_of_1000(client, celery_worker):
    d = dag(*[node(f"n{i}", after=[f"n{i - 1}"] if i else []) for i in range(1000)])
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=120) is WorkflowState.SUCCEEDED
    assert_exactly_once_in_order(client, wf, d)


@pytest.mark.slow
def test_100_stages_of_100(client, celery_worker):
    d = stages(100, 100)
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=240) is WorkflowState.SUCCEEDED
    assert_exactly_once_in_order(client, wf, d)
    assert sum(client.snapshot(wf).counts()[s] for s in (NodeState.SUCCEEDED,)) == 10_000


def test_messages_carry_ids_only_whatever_the_workflow_size(own_redis):
    """Queued messages (no worker here) are as small for 5,000 roots as for one."""
    from tests.fixtures.workflow_client import make_client

    client = make_client(own_redis.url)
    small = client.submit(dag(node("n0")), user="tester")
    big = client.submit(dag(*[node(f"n{i}") for i in range(5000)], node("end", after=["n0"])),
                        user="tester")
    messages = client.redis.lrange("cftest", 0, -1)
    assert len(messages) == 5001
    sizes = {len(m) for m in messages}
    assert max(sizes) < 2048
    assert max(sizes) - min(sizes) < 16  # only the ids' lengths differ
    assert any(small in m for m in messages) and any(big in m for m in messages)
