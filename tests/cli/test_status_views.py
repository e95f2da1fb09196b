"""``cephflow status`` views: the list of workflows and one step in full."""

from __future__ import annotations

import pytest

from cephflow.cli.views.step_detail import StepDetail
from cephflow.cli.views.workflow_list import WorkflowList
from cephflow.engine.state import WorkflowState, WorkflowSummary
from cephflow.errors import StepNotFound
from cephflow.operations.steps import find_node
from tests.cli.golden import golden, render
from tests.cli.samples import T0, drain


def _listed() -> WorkflowList:
    running = WorkflowSummary(id="3f2a9c1e5b7d4c2a", runbook="replace-disk", state="running",
                              submitted_at=T0, nodes=14,
                              params={"host": "ceph-osd-17", "osds": [1, 2], "pause": 30})
    done = WorkflowSummary(id="9e8d7c6b5a4f3e2d", runbook="demo", state="failed",
                           submitted_at=T0 - 86_400, ended_at=T0 - 86_400 + 3725, nodes=9,
                           params={"items": 4, "pause": "2s"})
    lost = WorkflowSummary(id="77aa", runbook="demo", state="cancelled", submitted_at=T0 - 5,
                           ended_at=T0 - 4, nodes=9)
    return WorkflowList([running, done, lost], ended={running.id: 6, done.id: 9}, now=T0 + 62)


LIST_AT = {
    120: """
        id        runbook       state        started        took  steps  target
        3f2a9c1e  replace-disk  ▶ running    08:00         1m02s   6/14  host=ceph-osd-17 osds=1,2
        9e8d7c6b  demo          ✗ failed     Jan 14 08:00  1h02m    9/9
        77aa      demo          ⊘ cancelled  07:59          1.0s    ?/9
        """,
    80: """
        id        runbook       state        started        took  steps  target
        3f2a9c1e  replace-disk  ▶ running    08:00         1m02s   6/14  host=ceph-osd-…
        9e8d7c6b  demo          ✗ failed     Jan 14 08:00  1h02m    9/9
        77aa      demo          ⊘ cancelled  07:59          1.0s    ?/9
        """,
    70: """
        id        runbook       state        started       steps  target
        3f2a9c1e  replace-disk  ▶ running    08:00          6/14  host=ceph-o…
        9e8d7c6b  demo          ✗ failed     Jan 14 08:00    9/9
        77aa      demo          ⊘ cancelled  07:59           ?/9
        """,
}


@pytest.mark.parametrize("width", sorted(LIST_AT))
def test_the_list_fits_the_terminal_with_its_target_last_and_a_date_when_not_today(width):
    text = render(_listed(), width=width)
    assert "\n".join(line.rstrip() for line in text.splitlines()) + "\n" == golden(LIST_AT[width])
    assert all(len(line) <= width for line in text.splitlines())
    assert "items=" not in text and "pause=" not in text  # counts and pauses say little here


def test_an_empty_list_says_how_to_start():
    assert "cephflow run NAME" in render(WorkflowList([], ended={}, now=T0))


def test_a_step_in_full_has_its_whole_error_and_arguments():
    snap = drain(total=10, succeeded=4, running=(), failed=(7,))
    snap.nodes["drain[osd.7]"].args = {"osd": 7, "weight": 0.3}
    text = render(StepDetail(snap, "drain[osd.7]", now=T0 + 62))
    assert text == golden("""
        ✗ drain[osd.7]  failed
        workflow:    3f2a9c1e5b7d4c2a (drain-host)
        step:        drain
        task:        ceph.reweight
        item:        osd.7
        after:       check
        started:     2027-01-15T08:00:10Z
        ended:       2027-01-15T08:00:13Z
        took:        3.0s
        args:        {"osd": 7, "weight": 0.3}
        error:
          UnsafeOperation: osd.7 is not ok-to-stop
            3 pgs would become inactive
            pg 2.1f
            pg 2.3a
            pg 3.0
        """)


def test_a_step_is_found_by_id_label_or_unique_prefix_and_ambiguity_is_refused():
    snap = drain(total=12, succeeded=4, running=(), failed=())
    assert find_node(snap, "drain[osd.3]") == "drain[osd.3]"
    assert find_node(snap, "osd.3") == "drain[osd.3]"
    assert find_node(snap, "wait") == "wait-healthy"
    with pytest.raises(StepNotFound, match="names 12 steps"):
        find_node(snap, "drain")
    failed = drain(total=12, succeeded=4, running=(5,), failed=(9,))
    assert find_node(failed, "drain") == "drain[osd.9]"
    with pytest.raises(StepNotFound, match="names 3 steps: drain\\[osd.1\\], drain\\[osd.10\\]"):
        find_node(snap, "drain[osd.1")
    with pytest.raises(StepNotFound, match="has no step 'nope'"):
        find_node(snap, "nope")
    assert snap.state is WorkflowState.RUNNING


def test_plain_lines_for_retries_approvals_and_progress():
    from cephflow.cli.views.event_line import event_line
    from cephflow.engine.state import Event, EventType

    snap = drain(total=3, succeeded=0, running=(1,), failed=())
    retry = Event(id="9-0", ts=T0 + 5, type=EventType.NODE_RETRY, node="drain[osd.1]",
                  error="CommandFailed: ceph osd reweight exited 22\nmore", attempt=1,
                  data={"delay": 4.0})
    approval = Event(id="9-1", ts=T0 + 6, type=EventType.APPROVAL, node="gate",
                     data={"decision": "rejected", "by": "alice", "reason": "not today"})
    silent = Event(id="9-2", ts=T0 + 7, type=EventType.NODE_PROGRESS, node="drain[osd.1]")
    assert str(event_line(retry, snap)) == (
        "2027-01-15T08:00:05Z  drain[osd.1]  retry in 4.0s after try 1: "
        "CommandFailed: ceph osd reweight exited 22")
    assert str(event_line(approval, snap)) == (
        "2027-01-15T08:00:06Z  gate  rejected by alice: not today")
    assert event_line(silent, snap) is None
