"""Decisions and refusals from a second process: approve, reject, approvers, lock held."""

from __future__ import annotations

import getpass
import os
import subprocess
from datetime import UTC, datetime

import pytest

from cephflow.engine import gates, keys
from cephflow.engine.state import EventType, NodeState, WorkflowState
from cephflow.errors import InvalidTransition, LockHeld
from tests.engine.support import dag, node, runs
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import wait_until
from tests.paths import CEPHFLOW

pytestmark = pytest.mark.services


def cli(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CEPHFLOW_REDIS_URL=redis_url, CEPHFLOW_NAMESPACE=NAMESPACE)
    return subprocess.run([CEPHFLOW, *args], env=env, capture_output=True, text=True,
                          timeout=60)


def gate(approvers: list[str] | None = None) -> object:
    return dag(
        node("gate", task="core.approval",
             args={"approvers": approvers or [], "notify": False, "downtimes": []}),
        node("after", after=["gate"]),
        node("fin", cleanup=True),
    )


def _open(client, wf: str) -> None:
    wait_until(lambda: client.snapshot(wf).nodes["gate"].state is NodeState.RUNNING,
               timeout=20, what="gate waiting")


def test_approve_from_a_second_process(client, celery_worker, redis_url):
    me = getpass.getuser()
    wf = client.submit(gate([me]), user="tester")
    _open(client, wf)
    result = cli(redis_url, "approve", wf[:6], "gate")
    assert result.returncode == 0, result.stderr
    assert f"approved gate of workflow {wf}" in result.stdout
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    fact = client.get_fact(wf, "approval:gate")
    assert fact["decision"] == "approved" and fact["by"] == me and fact["at"] > 0
    [event] = [e for e in client.events(wf, "0-0", count=1000) if e.type is EventType.APPROVAL]
    assert (event.node, event.data["decision"], event.data["by"]) == ("gate", "approved", me)
    assert runs(client, wf) == {"after": 1, "fin": 1}


def test_reject_from_a_second_process_fails_the_step(client, celery_worker, redis_url):
    wf = client.submit(gate(), user="tester")
    _open(client, wf)
    result = cli(redis_url, "reject", wf, "gate", "--reason", "not during business hours")
    assert result.returncode == 0, result.stderr
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    snap = client.snapshot(wf)
    assert snap.failed_node == "gate"
    assert "not during business hours" in snap.error
    assert snap.nodes["after"].state is NodeState.CANCELLED
    assert runs(client, wf) == {"fin": 1}


def test_only_named_approvers_may_decide(client, celery_worker, redis_url):
    wf = client.submit(gate(["somebody-else", "@no-such-group"]), user="tester")
    result = cli(redis_url, "approve", wf, "gate")
    assert result.returncode == 2
    assert "may not decide gate" in result.stderr
    with pytest.raises(InvalidTransition):
        client.approve(wf, "gate", user=getpass.getuser())
    client.approve(wf, "gate", user="somebody-else")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED


def test_lock_held_refuses_a_second_run_with_exit_3(client, celery_worker, redis_url):
    holder = client.submit(dag(node("w", task="test.wait_fact", args={"key": "go"}),
                               locks=["demo"]), user="tester")
    result = cli(redis_url, "run", "demo", "--detach")
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"held by workflow {holder}" in result.stderr
    with pytest.raises(LockHeld) as refused:
        client.submit(dag(node("x"), locks=["other", "demo"]), user="second")
    assert refused.value.holder == holder
    assert client.redis.get(keys.lock(NAMESPACE, "ceph", "other")) is None
    assert len(client.list_workflows(50)) == 1
    # the refused workflow's keys, written before its locks were tried, are gone again
    prefix = keys.workflow_prefix(NAMESPACE)
    left = [k for k in client.redis.scan_iter(f"{prefix}*")
            if not k.startswith(f"{prefix}{holder}")]
    assert left == []
    client.cancel(holder, user="tester")
    assert client.wait(holder, timeout=20) is WorkflowState.CANCELLED
    # released at the end, whatever the end
    second = client.submit(dag(node("x"), locks=["demo"]), user="second")
    assert client.wait(second, timeout=20) is WorkflowState.SUCCEEDED
    assert client.redis.get(keys.lock(NAMESPACE, "ceph", "demo")) is None


def test_audit_and_listing(client, celery_worker):
    wf = client.submit(dag(node("a"), params={"host": "ceph-osd-17"}, runbook="replace-disk"),
                       user="alice")
    assert client.wait(wf, timeout=20) is WorkflowState.SUCCEEDED
    record = client.audit(wf)
    assert record["user"] == "alice" and record["runbook"] == "replace-disk"
    assert '"host": "ceph-osd-17"' in record["params"] and record["outcome"] == "succeeded"
    [summary] = client.list_workflows(10)
    assert (summary.id, summary.state, summary.nodes) == (wf, WorkflowState.SUCCEEDED, 1)
    assert client.resolve_id(wf[:4]) == wf


def shorthand_gate() -> object:
    """What the compiler makes of ``approval:`` on step ``drain``: a gate, then the step."""
    return dag(
        node("approve-drain", step="drain", task="core.approval",
             args={"approvers": [], "notify": False, "downtimes": []}),
        node("drain", task="test.wait_fact", args={"key": "go"}, after=["approve-drain"]),
        node("other", task="test.wait_fact", args={"key": "go"}),
    )


def test_a_step_name_decides_only_its_gate_never_the_step_behind_it(client, celery_worker):
    wf = client.submit(shorthand_gate(), user="tester")
    assert [g.node for g in client.approve(wf, "drain", user="tester")] == ["approve-drain"]
    wait_until(lambda: client.snapshot(wf).nodes["drain"].state is NodeState.RUNNING,
               timeout=20, what="the step behind the gate to start")
    assert client.get_fact(wf, "approval:drain") is None
    client.set_fact(wf, "go", True)
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert runs(client, wf) == {"drain": 1, "other": 1}


def test_deciding_what_is_no_approval_gate_is_refused_clearly(client, celery_worker):
    wf = client.submit(shorthand_gate(), user="tester")
    for target in ("other", "nope"):
        with pytest.raises(InvalidTransition) as refused:
            client.reject(wf, target, user="tester", reason="no")
        assert f"{target!r} names no open approval gate" in str(refused.value)
        assert "open approval steps: drain" in str(refused.value)
    assert client.get_fact(wf, "approval:other") is None
    [decided] = client.approve(wf, "approve-drain", user="tester")
    assert (decided.node, decided.already) == ("approve-drain", False)
    wait_until(lambda: client.snapshot(wf).nodes["approve-drain"].state is NodeState.SUCCEEDED,
               timeout=20, what="the gate to pass")
    [again] = client.approve(wf, "drain", user="someone")
    assert (again.node, again.already, again.by) == ("approve-drain", True, "tester")
    client.cancel(wf, user="tester")
    assert client.wait(wf, timeout=20) is WorkflowState.CANCELLED


def test_listing_counts_ended_nodes(client, celery_worker, redis_url):
    failed = client.submit(dag(node("a"), node("b", task="test.fail", after=["a"]),
                               node("c", after=["b"]), node("fin", cleanup=True)), user="t")
    assert client.wait(failed, timeout=20) is WorkflowState.FAILED
    running = client.submit(dag(node("x"), node("w", task="test.wait_fact", args={"key": "go"},
                                                after=["x"]), node("fin", cleanup=True)),
                            user="t")
    wait_until(lambda: client.snapshot(running).nodes["x"].state is NodeState.SUCCEEDED,
               timeout=20, what="x to end")
    counts = {s.id: (s.state, s.nodes, s.ended_nodes) for s in client.list_workflows(10)}
    assert counts == {failed: (WorkflowState.FAILED, 4, 4),
                      running: (WorkflowState.RUNNING, 3, 1)}
    client.cancel(running, user="t")
    assert client.wait(running, timeout=20) is WorkflowState.CANCELLED
    [summary] = [s for s in client.list_workflows(10) if s.id == running]
    assert summary.ended_nodes == 3
    listed = cli(redis_url, "status")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split()[-1] for line in listed.stdout.splitlines()
            if line.strip() and line.split()[0] in (failed[:8], running[:8])}
    assert rows == {failed[:8]: "4/4", running[:8]: "3/3"}, listed.stdout


def two_gates() -> object:
    """A gate that waits at once, and a second one behind a step that waits for a fact."""
    return dag(
        node("first", task="core.approval",
             args={"approvers": [], "notify": False, "downtimes": []}),
        node("swap", task="test.wait_fact", args={"key": "swapped"}, after=["first"]),
        node("confirm", task="core.approval", after=["swap"],
             args={"approvers": [], "notify": False, "downtimes": []}),
        node("after", after=["confirm"]),
    )


def test_a_gate_not_reached_is_refused_unless_early(client, celery_worker, redis_url):
    wf = client.submit(two_gates(), user="tester")
    refused = cli(redis_url, "approve", wf, "confirm")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.startswith(
        f"error: workflow {wf}: gate confirm is not reached yet; to decide it in advance: "
        f"cephflow approve {wf} confirm --early\n"), refused.stderr
    with pytest.raises(InvalidTransition, match="not reached yet"):
        client.reject(wf, "confirm", user="tester", reason="no")
    assert client.get_fact(wf, "approval:confirm") is None
    assert not [e for e in client.events(wf, "0-0", count=1000) if e.type is EventType.APPROVAL]

    early = cli(redis_url, "approve", wf, "confirm", "--early")
    assert early.returncode == 0, early.stderr
    assert early.stdout.startswith(f"approved confirm of workflow {wf}; the gate is not reached")
    assert client.get_fact(wf, "approval:confirm")["early"] is True
    assert client.snapshot(wf).nodes["confirm"].state is NodeState.PENDING
    [first] = client.approve(wf, "first", user="tester")
    assert not first.early and not first.already
    client.set_fact(wf, "swapped", True)
    # the early decision opens the gate when it is reached: nobody approves it again
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert runs(client, wf) == {"swap": 1, "after": 1}
    decided = [e.node for e in client.events(wf, "0-0", count=1000) if e.type is EventType.APPROVAL]
    assert decided == ["confirm", "first"]


def test_approving_twice_records_one_decision_and_says_who_was_first(client, celery_worker,
                                                                     redis_url):
    wf = client.submit(gate(), user="tester")
    _open(client, wf)
    [first] = client.approve(wf, "gate", user="alice")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    again = cli(redis_url, "approve", wf, "gate")
    assert again.returncode == 0, again.stderr
    when = datetime.fromtimestamp(first.at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert again.stdout == f"gate of workflow {wf} was already approved by alice at {when}\n"
    by_step = client.approve(wf, "gate", user="bob")
    assert [(g.by, g.already, g.at) for g in by_step] == [("alice", True, first.at)]
    decisions = [e for e in client.events(wf, "0-0", count=1000) if e.type is EventType.APPROVAL]
    assert len(decisions) == 1
    assert client.get_fact(wf, "approval:gate")["by"] == "alice"
    # the other decision is refused, not recorded
    rejected = cli(redis_url, "reject", wf, "gate", "--reason", "too late")
    assert rejected.returncode == 2
    assert "gate gate was already approved by alice; a decision is final" in rejected.stderr


def test_a_decision_while_the_gate_waits_is_final_before_the_gate_reads_it(client, redis_url):
    # no worker: the gate is queued (reached) and nobody reads the decision yet
    wf = client.submit(gate(), user="tester")
    [approved] = client.approve(wf, "gate", user="alice")
    assert (approved.early, approved.already) == (False, False)
    with pytest.raises(InvalidTransition, match="already approved by alice"):
        client.reject(wf, "gate", user="bob", reason="no")
    assert client.get_fact(wf, "approval:gate")["decision"] == "approved"


def test_a_rejected_gate_asks_again_after_resume(client, celery_worker):
    wf = client.submit(gate(), user="tester")
    _open(client, wf)
    client.reject(wf, "gate", user="alice", reason="not now")
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    client.resume(wf, user="tester")
    # the rejection was for the last run: the gate waits again instead of failing at once
    _open(client, wf)
    assert client.get_fact(wf, "approval:gate") is None
    [approved] = client.approve(wf, "gate", user="bob")
    assert (approved.by, approved.already) == ("bob", False)
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED


def test_refusals_read_as_sentences_whatever_the_state(client, celery_worker, monkeypatch):
    wf = client.submit(dag(node("a")), user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    with pytest.raises(InvalidTransition) as resumed:
        client.resume(wf)
    assert f"workflow {wf} has succeeded: only failed" in str(resumed.value)
    # a gate that ended between being looked up and being decided
    monkeypatch.setattr(gates, "gate_nodes", lambda *_: [("a", {})])
    with pytest.raises(InvalidTransition) as rejected:
        client.reject(wf, "a", user="tester")
    assert str(rejected.value) == "cannot reject a: workflow has ended (succeeded)"
