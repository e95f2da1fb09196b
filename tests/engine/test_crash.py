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


def test_worker_killed_during_a_runtime_expansion_leaves_every_member_once(own_redis,
                                                                          worker_factory):
    """The kill lands while the expander renders 300 members (each label a slow template)
    or while the expand script writes them: either none was written and the re-sent expander
    writes them all, or all were and the re-sent message is stale. Never twice, never half."""
    from cephflow.engine.keys import WorkflowKeys
    from cephflow.runbook.dag import FanOut, Late, StepRef

    client = make_client(own_redis.url)
    width = 300
    slow_label = "osd.{{ osd }}{% for i in range(10000) %}{% endfor %}"
    d = dag(
        node("discover", task="test.output", args={"value": {"osds": list(range(width))}}),
        node("drain", task="test.output", after=["discover"],
             expand=FanOut(items="{{ steps.discover.output.osds }}", var="osd",
                           label=slow_label),
             late=Late(args={"value": {"osd": "{{ osd }}"}},
                       reads={"discover": StepRef(nodes=["discover"])})),
        node("after", task="test.output", after=["drain"]),
    )
    first = worker_factory(own_redis.url)
    wf = client.submit(d, user="tester")
    wk = WorkflowKeys(NAMESPACE, wf)
    wait_until(lambda: client.redis.hget(wk.state, "drain") == "running", timeout=30,
               what="the expander claimed")
    first.kill9()
    assert client.redis.hget(wk.members, "drain") is None, "expanded before the kill"
    worker_factory(own_redis.url)
    assert client.wait(wf, timeout=120) is WorkflowState.SUCCEEDED
    members = [f"drain[osd.{i}]" for i in range(width)]
    import json
    assert json.loads(client.redis.hget(wk.members, "drain")) == members
    order = client.redis.lrange(wk.order, 0, -1)
    assert Counter(order) == Counter(["discover", "drain", "after", *members])
    expansions = [e for e in client.events(wf, "0-0", count=100_000)
                  if e.type is EventType.EXPANDED]
    assert len(expansions) == 1
    completions = succeeded_events(client, wf)
    assert set(completions) == {"discover", "drain", "after", *members}
    assert set(completions.values()) == {1}
