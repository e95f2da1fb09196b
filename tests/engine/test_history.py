"""The history: each action of a person (run, refused run, approve, reject, cancel, resume,
retry) is one entry saying who, what, which workflow and step, and when; read back with
filters; capped at ``history_max_entries``."""

from __future__ import annotations

import time

import pytest

from cephflow.engine import keys
from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import HistoryAction, NodeState, WorkflowState
from cephflow.errors import InvalidTransition, LockHeld
from cephflow.settings import Settings
from tests.engine.support import dag, node
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import wait_until

pytestmark = pytest.mark.services

H = HistoryAction


def gate() -> object:
    return dag(node("gate", task="core.approval",
                    args={"approvers": [], "notify": False, "downtimes": []}),
               node("after", after=["gate"]), runbook="gated")


def _errors(client, wf: str) -> dict[str, str]:
    """The failed steps' errors: what an assertion on the outcome shows when it fails."""
    return {n.id: n.error for n in client.snapshot(wf).nodes.values() if n.error}


def _waiting(client, wf: str) -> None:
    wait_until(lambda: client.snapshot(wf).nodes["gate"].state is NodeState.RUNNING,
               timeout=20, what="gate waiting")


def test_each_action_is_one_entry_with_who_what_and_when_in_order(client, celery_worker):
    before = time.time()
    gated = client.submit(gate(), user="carol")
    _waiting(client, gated)
    client.reject(gated, "gate", user="alice", reason="not during business hours")
    assert client.wait(gated, timeout=30) is WorkflowState.FAILED
    client.resume(gated, user="bob")
    _waiting(client, gated)
    client.approve(gated, "gate", user="dave")
    assert client.wait(gated, timeout=30) is WorkflowState.SUCCEEDED, _errors(client, gated)

    held = client.submit(dag(node("w", task="test.wait_fact", args={"key": "go"}),
                             locks=["demo"], runbook="holder"), user="erin")
    with pytest.raises(LockHeld):
        client.submit(dag(node("x"), locks=["demo"], runbook="second"), user="frank")
    client.cancel(held, user="gina")
    assert client.wait(held, timeout=20) is WorkflowState.CANCELLED

    failing = client.submit(dag(node("f", task="test.fail"), runbook="failing"), user="ivan")
    assert client.wait(failing, timeout=20) is WorkflowState.FAILED
    client.retry(failing, "f", user="judy")
    assert client.wait(failing, timeout=20) is WorkflowState.FAILED
    client.resume(failing, user="kim", from_step="f")
    assert client.wait(failing, timeout=20) is WorkflowState.FAILED  # ended: none left running

    entries = client.history(limit=100)
    refused = entries[5].workflow
    assert [(e.action, e.user, e.workflow, e.runbook, e.step) for e in entries] == [
        (H.SUBMITTED, "carol", gated, "gated", ""),
        (H.REJECTED, "alice", gated, "gated", "gate"),
        (H.RESUMED, "bob", gated, "gated", ""),
        (H.APPROVED, "dave", gated, "gated", "gate"),
        (H.SUBMITTED, "erin", held, "holder", ""),
        (H.REFUSED, "frank", refused, "second", ""),
        (H.CANCELLED, "gina", held, "holder", ""),
        (H.SUBMITTED, "ivan", failing, "failing", ""),
        (H.RETRIED, "judy", failing, "failing", "f"),
        (H.RESUMED, "kim", failing, "failing", "f"),
    ]
    assert refused not in (gated, held, failing)
    assert entries[1].detail == "not during business hours"
    assert entries[5].detail == f"refused: lock demo held by {held}"
    assert entries[9].detail == "from step f"
    # when: Redis's clock, in the order things happened, and this host
    times = [e.ts for e in entries]
    assert times == sorted(times) and before - 5 < times[0] and times[-1] < time.time() + 5
    assert {e.host for e in entries} == {entries[0].host} and entries[0].host


def test_only_what_changed_something_is_recorded(client, celery_worker):
    """A refused cancel or decision is not an action: no entry; a decision given again is
    not recorded twice."""
    wf = client.submit(gate(), user="carol")
    _waiting(client, wf)
    client.approve(wf, "gate", user="dave")
    client.approve(wf, "gate", user="dave")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED, _errors(client, wf)
    with pytest.raises(InvalidTransition, match="already ended"):
        client.cancel(wf, user="gina")
    assert [e.action for e in client.history()] == [H.SUBMITTED, H.APPROVED]


def test_filters_by_workflow_user_and_age_and_keeps_the_newest(client):
    old_ms = int((time.time() - 7200) * 1000)
    client.redis.xadd(keys.history(NAMESPACE), {
        "ts": repr(old_ms / 1000), "action": "cancelled", "user": "alice", "host": "h",
        "workflow": "0123456789ab", "runbook": "old", "step": "", "detail": ""}, id=f"{old_ms}-0")
    first = client.submit(dag(node("a")), user="alice")
    second = client.submit(dag(node("a")), user="bob")
    client.cancel(second, user="alice")

    def seen(**kw) -> list[tuple[str, str, str]]:
        return [(e.action, e.user, e.workflow) for e in client.history(**kw)]

    assert seen(user="alice") == [("cancelled", "alice", "0123456789ab"),
                                  ("submitted", "alice", first), ("cancelled", "alice", second)]
    assert seen(workflow=second[:5]) == [("submitted", "bob", second),
                                         ("cancelled", "alice", second)]
    assert seen(workflow="0123456789ab") == [("cancelled", "alice", "0123456789ab")]
    assert seen(since=600) == [("submitted", "alice", first), ("submitted", "bob", second),
                               ("cancelled", "alice", second)]
    assert seen(user="alice", since=600, limit=1) == [("cancelled", "alice", second)]
    assert seen(user="nobody") == []


def test_the_history_is_capped_near_its_setting(redis_server):
    ns = "cfhist"
    redis_server.flush_namespace(ns)
    client = WorkflowClient(Settings(redis_url=redis_server.url, namespace=ns,
                                     history_max_entries=10))
    try:
        holder = client.submit(dag(node("a"), locks=["l"]), user="u")
        for _ in range(105):  # refused (no worker serves ns: the lock stays held)
            with pytest.raises(LockHeld):
                client.submit(dag(node("b"), locks=["l"]), user="refused")
        # the stream passes 110 entries with these: a whole node (100) goes, in the script
        last = [client.submit(dag(node("a")), user="u") for _ in range(10)][-1]
        length = client.redis.xlen(keys.history(ns))
        # trimmed in whole stream nodes (stream-node-max-entries, 100 by default)
        assert 10 <= length < 116
        entries = client.history(limit=200)
        assert len(entries) == length and holder not in {e.workflow for e in entries}
        assert (entries[-1].action, entries[-1].workflow) == (H.SUBMITTED, last)
    finally:
        client.close()
        redis_server.flush_namespace(ns)
