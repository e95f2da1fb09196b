"""``cephflow pause|unpause|resume ID`` through the real entry point, and how a pause reads
in ``status`` (list, ``--json``) and ``history``."""

from __future__ import annotations

import getpass
import json

import pytest

from cephflow.engine.state import NodeState, WorkflowState
from tests.cli.test_workflow_commands_e2e import cephflow
from tests.engine.support import dag, node, runs, wait_node

pytestmark = pytest.mark.services


def _long() -> object:
    return dag(node("a", task="test.fail_on_fact", args={"key": "go", "fixed_by": "go"}),
               node("b", after=["a"]), node("fin", cleanup=True), runbook="calm")


def _held_b(client, wf: str) -> None:
    client.set_fact(wf, "go", True)
    wait_node(client, wf, "a", NodeState.SUCCEEDED)


def test_pause_shows_everywhere_and_unpause_lets_it_finish(client, celery_worker, redis_url):
    me = getpass.getuser()
    wf = client.submit(_long(), user="tester")
    wait_node(client, wf, "a", NodeState.RUNNING)
    done = cephflow(["pause", wf[:8], "--reason", "clients complain"], redis_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"workflow {wf} is paused by {me} at " in done.stdout
    assert ": clients complain" in done.stdout
    assert "moves no data: only its steps are held" in done.stdout
    again = cephflow(["pause", wf], redis_url)
    assert again.returncode == 0 and f"workflow {wf} was already paused by {me}" in again.stdout
    _held_b(client, wf)

    shown = json.loads(cephflow(["status", wf, "--json"], redis_url).stdout)
    assert shown["pause"]["by"] == me and shown["pause"]["reason"] == "clients complain"
    assert shown["nodes"]["b"]["state"] == "queued"
    listed = cephflow(["status"], redis_url).stdout
    assert "running (paused)" in listed
    [summary] = [s for s in json.loads(cephflow(["status", "--json"], redis_url).stdout)
                 if s["id"] == wf]
    assert summary["pause"]["by"] == me

    lifted = cephflow(["unpause", wf[:8]], redis_url)
    assert lifted.returncode == 0, lifted.stdout + lifted.stderr
    assert f"workflow {wf} unpaused: 1 held steps sent" in lifted.stdout
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert runs(client, wf) == {"a": 1, "b": 1, "fin": 1}
    history = cephflow(["history", wf], redis_url).stdout
    assert "paused" in history and "clients complain" in history and "unpaused" in history


def test_resume_of_a_paused_workflow_unpauses_it(client, celery_worker, redis_url):
    wf = client.submit(_long(), user="tester")
    wait_node(client, wf, "a", NodeState.RUNNING)
    assert cephflow(["pause", wf], redis_url).returncode == 0
    _held_b(client, wf)
    done = cephflow(["resume", wf, "--plain"], redis_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"workflow {wf} unpaused: 1 held steps sent" in done.stdout
    assert "succeeded" in done.stdout.splitlines()[-1]
    assert runs(client, wf) == {"a": 1, "b": 1, "fin": 1}


def test_refused_pause_and_unpause_exit_2_and_change_nothing(client, celery_worker, redis_url):
    wf = client.submit(dag(node("x"), runbook="quick"), user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    ended = cephflow(["pause", wf], redis_url)
    assert ended.returncode == 2
    assert f"workflow {wf} has ended (succeeded): there is nothing to pause" in ended.stderr
    not_paused = cephflow(["unpause", wf], redis_url)
    assert not_paused.returncode == 2 and "is not paused" in not_paused.stderr
    unknown = cephflow(["pause", "ffffffffffff"], redis_url)
    assert unknown.returncode != 0 and "no workflow" in unknown.stderr
    assert [e.action.value for e in client.history(wf)] == ["submitted"]


def test_the_header_and_plain_lines_say_who_paused_when_and_why():
    from cephflow.cli.views.event_line import event_line
    from cephflow.cli.views.header import WorkflowHeader
    from cephflow.engine.state import Event, EventType, Pause, WorkflowSnapshot

    snap = WorkflowSnapshot(id="abcdef123456", runbook="drain-host", submitted_at=1_796_000_000,
                            pause=Pause(by="alice", at=1_796_000_060, reason="clients slow"))
    lines = [line.plain for line in WorkflowHeader(snap, now=1_796_000_100).lines(width=100)]
    assert lines[2] == "paused by alice at 2026-11-30 00:54:20 UTC: clients slow"
    snap.state = WorkflowState.SUCCEEDED
    assert len(WorkflowHeader(snap, now=1_796_000_100).lines(width=100)) == 2
    paused = Event(ts=1_796_000_060, type=EventType.WORKFLOW_PAUSE,
                   data={"paused": True, "by": "alice", "at": 1_796_000_060, "reason": ""})
    assert event_line(paused, snap).plain.endswith(
        "workflow abcdef12 paused by alice at 2026-11-30 00:54:20 UTC")
    lifted = Event(ts=1_796_000_090, type=EventType.WORKFLOW_PAUSE,
                   data={"paused": False, "by": "bob"})
    assert event_line(lifted, snap).plain.endswith("workflow abcdef12 unpaused by bob")
