"""Failure and cleanup, resume, cancel, skip, retry, timeout, waiting and concurrency limits."""

from __future__ import annotations

import pytest

from cephflow.engine.state import EventType, NodeState, WorkflowState
from cephflow.errors import InvalidTransition
from cephflow.runbook.dag import RetryPolicy
from tests.engine.support import dag, node, runs
from tests.fixtures.services import wait_until

pytestmark = pytest.mark.services


def test_failure_stops_downstream_runs_finally_and_resume_completes(client, celery_worker):
    d = dag(
        node("a"),
        node("bad", task="test.fail", after=["a"], args={"message": "disk on fire",
                                                         "fixed_by": "fixed"}),
        node("side", after=["a"]),
        node("down", after=["bad"]),
        node("down2", after=["down", "side"]),
        node("fin1", cleanup=True),
        node("fin2", cleanup=True, after=["fin1"]),
    )
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    snap = client.snapshot(wf)
    assert snap.failed_node == "bad" and snap.error == "disk on fire"
    assert snap.nodes["bad"].state is NodeState.FAILED
    assert snap.nodes["down"].state is NodeState.CANCELLED
    assert snap.nodes["down2"].state is NodeState.CANCELLED
    assert snap.nodes["fin2"].state is NodeState.SUCCEEDED
    counts = runs(client, wf)
    assert "down" not in counts and "down2" not in counts
    # `side` raced `bad`: it ran to its end, or it was cancelled before it started
    side_ran = snap.nodes["side"].state is NodeState.SUCCEEDED
    assert side_ran or snap.nodes["side"].state is NodeState.CANCELLED
    assert counts == {"a": 1, "fin1": 1, "fin2": 1, **({"side": 1} if side_ran else {})}
    # the follower's fold of the stream agrees with the stored state
    folded = client.snapshot(wf)
    for n in folded.nodes.values():
        n.state = NodeState.PENDING
    folded.last_event_id = "0-0"
    for e in client.events(wf, "0-0", count=10_000):
        folded.apply(e)
    assert {k: v.state for k, v in folded.nodes.items()} == {
        k: v.state for k, v in snap.nodes.items()}

    client.set_fact(wf, "fixed", True)
    client.resume(wf, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    snap = client.snapshot(wf)
    assert snap.failed_node is None and snap.error is None
    counts = runs(client, wf)
    # succeeded steps were not re-run; the finally steps ran again
    assert counts == {"a": 1, "side": 1, "bad": 1, "down": 1, "down2": 1, "fin1": 2, "fin2": 2}
    assert client.audit(wf)["outcome"] == "succeeded"
    assert client.audit(wf)["resumed_by"] == "tester"
    with pytest.raises(InvalidTransition):
        client.resume(wf, user="tester")


def test_cancel_stops_a_waiting_workflow_and_runs_finally(client, celery_worker):
    d = dag(node("a"), node("wait", task="test.wait_fact", after=["a"], args={"key": "never"}),
            node("after", after=["wait"]), node("fin", cleanup=True))
    wf = client.submit(d, user="tester")
    wait_until(lambda: client.snapshot(wf).nodes["wait"].state is NodeState.RUNNING,
               timeout=20, what="wait step running")
    client.cancel(wf, user="boss")
    assert client.wait(wf, timeout=20) is WorkflowState.CANCELLED
    snap = client.snapshot(wf)
    assert snap.nodes["wait"].state is NodeState.CANCELLED
    assert snap.nodes["after"].state is NodeState.CANCELLED
    assert snap.nodes["fin"].state is NodeState.SUCCEEDED
    assert runs(client, wf) == {"a": 1, "fin": 1}
    assert client.audit(wf)["cancelled_by"] == "boss"
    with pytest.raises(InvalidTransition):
        client.cancel(wf, user="boss")


def test_when_false_skips_and_dependents_still_run(client, celery_worker):
    d = dag(node("a"), node("maybe", after=["a"], skip=True), node("b", after=["maybe"]))
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=20) is WorkflowState.SUCCEEDED
    assert client.snapshot(wf).nodes["maybe"].state is NodeState.SKIPPED
    assert runs(client, wf) == {"a": 1, "b": 1}


def test_retry_then_succeed(client, celery_worker):
    d = dag(node("f", task="test.flaky", args={"succeed_on": 3},
                 retry=RetryPolicy(attempts=3, backoff=0.1, factor=1)))
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=20) is WorkflowState.SUCCEEDED
    tries = client.redis.lrange(f"cftest:test:{wf}:tries", 0, -1)
    assert tries == ["f:1", "f:2", "f:3"]
    retries = [e for e in client.events(wf, "0-0", count=1000) if e.type is EventType.NODE_RETRY]
    assert [e.attempt for e in retries] == [2, 3]
    assert "flaky try 1" in retries[0].error
    assert client.snapshot(wf).nodes["f"].attempt == 3


def test_retries_exhausted_fail_the_workflow(client, celery_worker):
    d = dag(node("f", task="test.flaky", args={"succeed_on": 9},
                 retry=RetryPolicy(attempts=2, backoff=0.1)))
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=20) is WorkflowState.FAILED
    snap = client.snapshot(wf)
    assert snap.failed_node == "f" and "flaky try 2" in snap.error


def test_timeout_fails_a_long_step_and_a_waiting_one(client, celery_worker):
    d = dag(node("slow", task="test.sleep", args={"seconds": 30}, timeout=1.0),
            node("waits", task="test.wait_fact", args={"key": "never"}, timeout=1.0),
            node("fin", cleanup=True))
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=20) is WorkflowState.FAILED
    snap = client.snapshot(wf)
    assert "timed out after 1s" in snap.nodes["slow"].error
    assert snap.nodes["waits"].state in (NodeState.FAILED, NodeState.CANCELLED)
    assert snap.nodes["slow"].ended_at - snap.nodes["slow"].started_at < 5
    assert "slow" not in runs(client, wf)


def test_concurrency_limit_is_never_exceeded(client, celery_worker):
    members = [node(f"fan[{i}]", task="test.concurrent", group="fan", args={"seconds": 0.2})
               for i in range(6)]
    wf = client.submit(dag(*members, groups={"fan": 1}), user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert client.redis.get(f"cftest:test:{wf}:maxrun") == "1"
    # and never more than one running, as seen in the event stream
    running = peak = 0
    for e in client.events(wf, "0-0", count=10_000):
        if e.type is EventType.NODE_STATE and e.state == "running":
            running += 1
        elif e.type is EventType.NODE_STATE and e.state == "succeeded":
            running -= 1
        peak = max(peak, running)
    assert peak == 1
    assert len(runs(client, wf)) == 6


def test_waiting_steps_do_not_hold_worker_slots(client, celery_worker):
    """Fifty workflows all waiting, on a worker with 2 processes: a new one still runs."""
    waiting = [client.submit(dag(node("w", task="test.wait_fact", args={"key": "go"})),
                             user="tester") for _ in range(50)]
    wait_until(lambda: all(client.redis.hget(f"cftest:test:{w}:checks", "w") for w in waiting),
               timeout=60, what="every waiting step checked once")
    quick = client.submit(dag(node("q")), user="tester")
    assert client.wait(quick, timeout=20) is WorkflowState.SUCCEEDED
    for w in waiting:
        client.set_fact(w, "go", 1)
    for w in waiting:
        assert client.wait(w, timeout=60) is WorkflowState.SUCCEEDED


def test_resume_through_joins_reruns_only_what_did_not_succeed(client, celery_worker):
    """Stages of 5 behind a failing stage: the joins are counted again on resume."""
    stage = [node(f"s0[{i}]") for i in range(5)]
    bad = [node(f"s1[{i}]", task="test.fail", after=[n.id for n in stage],
                args={"fixed_by": "fixed"} if i else {"fixed_by": "fixed", "message": "no"})
           for i in range(5)]
    last = [node(f"s2[{i}]", after=[n.id for n in bad]) for i in range(5)]
    d = dag(*stage, *bad, *last)
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    assert not any(n.startswith("s2") for n in runs(client, wf))
    client.set_fact(wf, "fixed", True)
    client.resume(wf, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    counts = runs(client, wf)
    assert all(counts[f"s0[{i}]"] == 1 for i in range(5))
    assert all(counts[f"s2[{i}]"] == 1 for i in range(5))
