"""The time left, from time: waits by their seconds, gates as people, steps by what they took."""

from __future__ import annotations

from cephflow.cli.views.header import WorkflowHeader
from cephflow.cli.views.tree import node_elapsed
from cephflow.operations.eta import Outlook, outlook
from cephflow.task_names import APPROVAL_TASK
from tests.cli.golden import render
from tests.cli.samples import T0, node, workflow


def wait(node_id: str, seconds: float, **kw) -> object:
    made = node(node_id, "core.sleep", **kw)
    made.args = {"seconds": seconds}
    return made


def test_a_started_ten_second_wait_is_its_time_left_not_a_step_ratio():
    snap = workflow([
        node("start", state="succeeded", started=0.0, ended=0.2),
        wait("wait", 10, state="running", started=0.5, after=["start"]),
        node("report", cleanup=True),
    ])
    # 1 of 3 steps ended after 1.5 s: counting steps said "ETA 3.0s"
    told = outlook(snap, T0 + 1.5)
    assert told.seconds is not None and abs(told.seconds - 9.2) < 1e-3 and not told.gate_ahead
    assert "ETA 9.2s" in render(WorkflowHeader(snap, now=T0 + 1.5), width=80)


def test_an_open_gate_is_waiting_for_approval_not_an_estimate():
    snap = workflow([
        node("start", state="succeeded", started=0, ended=1),
        node("confirm", APPROVAL_TASK, state="running", started=1, after=["start"]),
        node("after", after=["confirm"]),
    ])
    assert outlook(snap, T0 + 600) == Outlook(None, waiting_for_approval=True)
    line = render(WorkflowHeader(snap, now=T0 + 600), width=80).splitlines()[1]
    assert line.endswith("waiting for approval") and "ETA" not in line


def test_a_gate_still_ahead_is_named_after_the_estimate():
    snap = workflow([
        node("start", state="succeeded", started=0, ended=2),
        wait("settle", 30, state="running", started=2, after=["start"]),
        node("confirm", APPROVAL_TASK, after=["settle"]),
    ])
    assert outlook(snap, T0 + 12) == Outlook(20.0, gate_ahead=True)
    assert "ETA 20s to approval" in render(WorkflowHeader(snap, now=T0 + 12), width=80)


def test_no_ended_step_and_an_unknown_step_left_is_no_guess():
    snap = workflow([node("drain", "ceph.reweight", state="running", started=0), node("next")])
    assert outlook(snap, T0 + 5) == Outlook(None)
    assert "ETA —" in render(WorkflowHeader(snap, now=T0 + 5), width=80)


def test_a_fan_out_shares_its_concurrency():
    members = [node(f"w[{i}]", "ceph.reweight", group="w", label=str(i)) for i in range(6)]
    snap = workflow([node("check", state="succeeded", started=0, ended=4), *members],
                    groups={"w": 2})
    assert outlook(snap, T0 + 4).seconds == 6 * 4 / 2


def test_a_failing_or_ended_workflow_has_no_eta():
    snap = workflow([node("a", state="failed", started=0, ended=1), node("b")], state="failing")
    assert outlook(snap, T0 + 5) == Outlook(None)
    snap = workflow([node("a", state="succeeded", started=0, ended=1)], state="succeeded", ended=1)
    assert outlook(snap, T0 + 5) == Outlook(None)


def test_a_step_timer_stops_when_the_step_ends():
    done = wait("wait", 10, state="succeeded", started=0, ended=10)
    assert node_elapsed(done, T0 + 10) == node_elapsed(done, T0 + 500) == 10
    running = wait("wait", 10, state="running", started=0)
    assert node_elapsed(running, T0 + 4) == 4


def test_a_step_running_longer_than_steps_took_is_no_guess_not_zero():
    snap = workflow([node("a", state="succeeded", started=0, ended=2),
                     node("b", state="running", started=2)])
    assert outlook(snap, T0 + 3) == Outlook(1.0)
    assert outlook(snap, T0 + 75) == Outlook(None)


HEADER_AT = {
    120: "drain-host  ·  3f2a9c1e  ·  running 1m15s  ·  host=ceph-osd-17 osds=1,2 dry_run=no\n",
    80: "drain-host  ·  3f2a9c1e  ·  running 1m15s  ·  host=ceph-osd-17 osds=1,2 dry_run…\n",
    70: "drain-host  ·  3f2a9c1e  ·  running 1m15s  ·  host=ceph-osd-17 osds=1…\n",
}


def test_the_header_keeps_the_id_and_drops_none_the_default_cluster_and_python_reprs():
    snap = workflow([node("a", state="succeeded", started=0, ended=2),
                     node("b", state="running", started=2)])
    snap.params = {"host": "ceph-osd-17", "osds": [1, 2], "device": None, "dry_run": False}
    snap.cluster = "ceph"
    for width, first in HEADER_AT.items():
        text = render(WorkflowHeader(snap, now=T0 + 75), width=width)
        assert text == first + "━━━━━━━━━━━━━━━───────────────  1/2   50%  ETA —\n", width
    snap.cluster = "prod-east"
    assert "·  cluster prod-east  ·" in render(WorkflowHeader(snap, now=T0 + 75), width=120)


GIVEN_AT = {
    120: "drain-host  ·  3f2a9c1e  ·  running 1m15s  ·  osds=1,2 pause=1h30m token=**********\n",
    80: "drain-host  ·  3f2a9c1e  ·  running 1m15s  ·  osds=1,2 pause=1h30m token=******…\n",
    70: "drain-host  ·  3f2a9c1e  ·  running 1m15s  ·  osds=1,2 pause=1h30m to…\n",
}


def test_the_header_shows_the_params_as_given_and_not_the_resolved_ones():
    snap = workflow([node("a", state="succeeded", started=0, ended=2),
                     node("b", state="running", started=2)])
    snap.params = {"host": "ceph-osd-17", "osds": [1, 2], "pause": 5400.0, "token": "**********"}
    snap.given = {"osds": ["1", "2"], "pause": "1h30m", "token": "**********"}
    snap.cluster = "ceph"
    for width, first in GIVEN_AT.items():
        text = render(WorkflowHeader(snap, now=T0 + 75), width=width)
        assert text.splitlines(keepends=True)[0] == first, width
