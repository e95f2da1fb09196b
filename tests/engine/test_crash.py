"""Crash safety: a worker killed with SIGKILL, Redis restarted, poison messages."""

from __future__ import annotations

import signal
from collections import Counter

import pytest

from cephflow.engine import dispatch
from cephflow.engine.app import make_app
from cephflow.engine.state import EventType, WorkflowState
from tests.engine.support import dag, node, runs
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import wait_until
from tests.fixtures.workflow_client import make_client

pytestmark = [pytest.mark.services, pytest.mark.slow]


def sleepy_stages(n_stages: int, width: int, seconds: float):
    nodes, prev = [], []
    for s in range(n_stages):
        ids = [f"s{s}[{i}]" for i in range(width)]
        nodes += [node(i, task="test.sleep", after=prev, args={"seconds": seconds}) for i in ids]
        prev = ids
    return dag(*nodes)


def succeeded_events(client, wf: str) -> Counter:
    return Counter(e.node for e in client.events(wf, "0-0", count=100_000)
                   if e.type is EventType.NODE_STATE and e.state == "succeeded")


def test_worker_killed_mid_workflow_then_a_new_worker_completes_it(own_redis, worker_factory):
    client = make_client(own_redis.url)
    d = sleepy_stages(12, 4, 0.1)
    first = worker_factory(own_redis.url)
    wf = client.submit(d, user="tester")
    wait_until(lambda: len(runs(client, wf)) >= 10, timeout=30, what="some steps done")
    first.kill9()
    done_at_kill = len(runs(client, wf))
    assert done_at_kill < len(d.nodes)
    worker_factory(own_redis.url)
    assert client.wait(wf, timeout=90) is WorkflowState.SUCCEEDED
    completions = succeeded_events(client, wf)
    assert set(completions) == {n.id for n in d.nodes}
    assert set(completions.values()) == {1}, "a node ran twice to completion"
    counts = runs(client, wf)
    assert set(counts) == {n.id for n in d.nodes}, "a node was lost"
    # only the runs the kill interrupted (at most one per pool process) may have started twice
    assert sum(c - 1 for c in counts.values()) <= 2


def test_redis_restart_mid_workflow(own_redis, worker_factory):
    client = make_client(own_redis.url)
    d = sleepy_stages(10, 3, 0.1)
    worker_factory(own_redis.url)
    wf = client.submit(d, user="tester")
    wait_until(lambda: len(runs(client, wf)) >= 6, timeout=30, what="some steps done")
    own_redis.stop(signal.SIGKILL)  # appendfsync always: nothing acknowledged is lost
    own_redis.start()
    assert client.wait(wf, timeout=120) is WorkflowState.SUCCEEDED
    assert set(succeeded_events(client, wf).values()) == {1}
    assert set(runs(client, wf)) == {n.id for n in d.nodes}


def test_poison_messages_are_dropped_and_the_worker_goes_on(own_redis, worker_factory):
    worker = worker_factory(own_redis.url)
    app = make_app(own_redis.url, NAMESPACE)
    for args in [("no-such-workflow", "a", "1"), (1, 2), (), ("wf",), ("a", "b", "c", "d")]:
        app.send_task(dispatch.TASK_NAME, args=args)
    app.send_task(dispatch.TASK_NAME, args=("x", "y"), kwargs={"evil": True})
    with own_redis.client() as c:
        c.lpush(NAMESPACE, "this is not a message")
        c.lpush(NAMESPACE, '{"body": "bm90IGpzb24=", "headers": {}, "properties": {}}')
    client = make_client(own_redis.url)
    wf = client.submit(dag(node("a"), node("b", after=["a"])), user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    wait_until(lambda: worker.output().count("dropping") >= 6, timeout=10,
               what="poison messages logged")
    assert "unknown workflow" in worker.output()
    assert worker.output().count("dropping undecodable broker message") == 2
    assert worker.alive
