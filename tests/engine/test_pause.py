"""Pause and unpause on a real Redis and worker: while paused no new main step starts (those
that become ready are held, unleased and unsent), unpause sends each held step exactly once,
finally steps are never held, and a cancel, a failure or the end lifts the pause."""

from __future__ import annotations

import pytest

from cephflow.engine import keys
from cephflow.engine.keys import WorkflowKeys
from cephflow.engine.scripts import Reply
from cephflow.engine.state import EventType, HistoryAction, NodeState, WorkflowState
from cephflow.errors import InvalidTransition
from tests.engine.recorded import recorded
from tests.engine.support import dag, node, runs, wait_node
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import wait_until

pytestmark = pytest.mark.services


def _held(client, wf: str) -> set[str]:
    return client.redis.smembers(WorkflowKeys(client.ns, wf).held)


def _checks(client, wf: str, node_id: str) -> int:
    return int(client.redis.hget(recorded(NAMESPACE, wf, "checks"), node_id) or 0)


def _running_until(fact: str) -> object:
    """``a``: runs (holding a worker slot, not waiting) until ``fact`` is set, then ends well."""
    return node("a", task="test.fail_on_fact", args={"key": fact, "fixed_by": fact})


def _gated() -> object:
    """``a`` runs until the fact ``go``, then ``b`` and ``c``; ``poll`` checks ``stop`` every
    0.1 s meanwhile; ``fin``."""
    return dag(
        _running_until("go"),
        node("b", after=["a"]),
        node("c", after=["b"]),
        node("poll", task="test.wait_fact", args={"key": "stop", "countdown": 0.1}),
        node("fin", cleanup=True),
    )


def test_no_new_step_starts_while_paused_and_unpause_sends_held_once(client, celery_worker):
    wf = client.submit(_gated(), user="tester")
    wait_node(client, wf, "a", NodeState.RUNNING)
    wait_node(client, wf, "poll", NodeState.RUNNING)  # started: a pause does not hold it
    pause = client.pause(wf, user="alice", reason="backfill hurts clients")
    assert (pause.by, pause.reason) == ("alice", "backfill hurts clients")
    client.set_fact(wf, "go", True)
    wait_node(client, wf, "a", NodeState.SUCCEEDED)
    wait_until(lambda: _held(client, wf) == {"b"}, timeout=20, what="b held")
    lease = client.redis.zscore(keys.leases(client.ns), keys.lease_member(wf, "b"))
    assert lease is None  # held without a lease: the reconciler does not send it
    wait_until(lambda: "poll" in _held(client, wf), timeout=20, what="poll's next check held")
    held_checks = _checks(client, wf, "poll")
    # a measured interval: another workflow's poll checks 5 times on the same worker
    other = client.submit(dag(node("p", task="test.wait_fact",
                                   args={"key": "stop", "countdown": 0.1})), user="tester")
    wait_until(lambda: _checks(client, other, "p") >= 5, timeout=20, what="other polls")
    snap = client.snapshot(wf)
    assert snap.nodes["b"].state is NodeState.QUEUED and "b" not in runs(client, wf)
    assert _checks(client, wf, "poll") == held_checks  # no check ran while paused
    assert snap.pause is not None and snap.pause.by == "alice"
    assert snap.pause.reason == "backfill hurts clients"

    client.set_fact(other, "stop", True)
    assert client.unpause(wf, user="bob") == 2
    with pytest.raises(InvalidTransition, match="not paused"):
        client.unpause(wf, user="bob")
    client.set_fact(wf, "stop", True)
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert runs(client, wf) == {"a": 1, "b": 1, "c": 1, "poll": 1, "fin": 1}
    assert client.snapshot(wf).pause is None and not _held(client, wf)
    actions = [(e.action, e.user, e.detail) for e in client.history(wf)]
    assert (HistoryAction.PAUSED, "alice", "backfill hurts clients") in actions
    assert (HistoryAction.UNPAUSED, "bob", "2 held steps sent") in actions
    events = [e for e in client.events(wf, "0-0", count=1000)
              if e.type is EventType.WORKFLOW_PAUSE]
    assert [e.data["paused"] for e in events] == [True, False]
    audit = client.audit(wf)
    assert (audit["paused_by"], audit["unpaused_by"], audit["pauses"]) == ("alice", "bob", "1")


def test_a_message_in_flight_is_held_at_its_claim_and_sent_again_once(lone_client):
    """No worker: the root's message waits in the broker when the pause comes."""
    client = lone_client
    wf = client.submit(dag(node("a"), node("b", after=["a"])), user="tester")
    token = client.redis.hget(WorkflowKeys(client.ns, wf).token, "a")
    client.pause(wf, user="alice")
    assert client.transitions.claim(wf, "a", token).status == Reply.PAUSED
    assert _held(client, wf) == {"a"}
    assert client.redis.zscore(keys.leases(client.ns), keys.lease_member(wf, "a")) is None
    again = client.transitions.claim(wf, "a", token)  # a redelivery: held still, once
    assert again.status == Reply.PAUSED and _held(client, wf) == {"a"}
    out = client.transitions.unpause(wf, "bob")
    assert out.status == Reply.OK and [n for n, _ in out.sends] == ["a"]
    [(_, new_token)] = out.sends
    assert new_token != token
    assert client.transitions.claim(wf, "a", token).status == Reply.STALE
    assert client.transitions.claim(wf, "a", new_token).status == Reply.RUN
    assert client.transitions.unpause(wf, "bob").status == Reply.NOT_PAUSED


def test_finally_steps_are_never_held(client, celery_worker):
    wf = client.submit(dag(_running_until("go"),
                           node("fin", cleanup=True), node("fin2", cleanup=True,
                                                           after=["fin"])), user="tester")
    wait_node(client, wf, "a", NodeState.RUNNING)
    client.pause(wf, user="alice")
    client.set_fact(wf, "go", True)
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert runs(client, wf) == {"a": 1, "fin": 1, "fin2": 1}
    assert client.snapshot(wf).pause is None  # the end lifted it


def test_cancel_while_paused_lifts_the_pause_and_runs_finally(client, celery_worker):
    wf = client.submit(_gated(), user="tester")
    wait_node(client, wf, "a", NodeState.RUNNING)
    wait_node(client, wf, "poll", NodeState.RUNNING)  # started: a pause does not hold it
    client.pause(wf, user="alice", reason="look first")
    client.set_fact(wf, "go", True)
    wait_until(lambda: _held(client, wf) == {"b"}, timeout=20, what="b held")
    client.cancel(wf, user="carol")
    assert client.wait(wf, timeout=30) is WorkflowState.CANCELLED
    snap = client.snapshot(wf)
    assert snap.pause is None and not _held(client, wf)
    assert snap.nodes["b"].state is NodeState.CANCELLED
    assert runs(client, wf) == {"a": 1, "fin": 1}
    with pytest.raises(InvalidTransition, match="not paused"):
        client.unpause(wf)


def test_a_failure_while_paused_lifts_the_pause(client, celery_worker):
    wf = client.submit(dag(_running_until("go"),
                           node("b", after=["a"]),
                           node("bad", task="test.fail_on_fact", args={"key": "go"}),
                           node("fin", cleanup=True)), user="tester")
    wait_node(client, wf, "a", NodeState.RUNNING)
    wait_node(client, wf, "bad", NodeState.RUNNING)  # started: a pause does not hold it
    client.pause(wf, user="alice")
    client.set_fact(wf, "go", True)
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    assert client.snapshot(wf).pause is None and not _held(client, wf)
    assert "b" not in runs(client, wf) and runs(client, wf)["fin"] == 1


def test_pause_twice_keeps_the_first_and_an_ended_workflow_is_refused(client, celery_worker):
    wf = client.submit(dag(_running_until("go")),
                       user="tester")
    wait_node(client, wf, "a", NodeState.RUNNING)
    first = client.pause(wf, user="alice", reason="one")
    second = client.pause(wf, user="bob", reason="two")
    assert (second.by, second.reason, second.at) == ("alice", "one", first.at)
    assert len([e for e in client.history(wf) if e.action is HistoryAction.PAUSED]) == 1
    client.set_fact(wf, "go", True)
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    with pytest.raises(InvalidTransition, match="only a running workflow pauses"):
        client.pause(wf, user="alice")
