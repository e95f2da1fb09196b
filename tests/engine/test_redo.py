"""Resume runs again what the finally steps undid (``redo_on_resume``) before the re-run steps."""

from __future__ import annotations

import pytest

from cephflow.engine.state import NodeState, WorkflowState
from cephflow.runbook.catalog import CATALOG
from tests.engine.support import dag, node, order, runs, wait_node

pytestmark = pytest.mark.services


def maintenance() -> object:
    """check -> set -> hold -> work (fails until fixed) -> after; set2 -> side; finally clear.

    ``set`` and ``set2`` set something up (a silence, ``noout``) that ``clear`` undoes;
    ``set2`` only comes before steps that succeeded. ``hold`` waits for the fact ``go``, which
    the test sets once ``side`` has succeeded, so ``work`` fails only after the other branch
    has ended (a failure stops new steps from starting).
    """
    return dag(
        node("check"),
        node("set", task="test.setup", after=["check"], redo_on_resume=True),
        node("hold", task="test.wait_fact", args={"key": "go"}, after=["set"]),
        node("work", task="test.fail", args={"fixed_by": "fixed"}, after=["hold"]),
        node("after", after=["work"]),
        node("set2", task="test.setup", redo_on_resume=True),
        node("side", after=["set2"]),
        node("clear", cleanup=True),
    )


def test_resume_sets_up_again_before_the_failed_step(client, celery_worker):
    wf = client.submit(maintenance(), user="tester")
    wait_node(client, wf, "side", NodeState.SUCCEEDED)
    client.set_fact(wf, "go", True)
    assert client.wait(wf, timeout=20) is WorkflowState.FAILED
    first = order(client, wf)
    assert set(first) == {"check", "set", "hold", "set2", "side", "clear"}
    assert first[-1] == "clear"
    client.set_fact(wf, "fixed", True)
    client.resume(wf, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    # the resumed part: the set-up again, then the failed step and what follows, then clear
    assert order(client, wf)[len(first):] == ["set", "work", "after", "clear"]
    assert runs(client, wf) == {"check": 1, "set": 2, "hold": 1, "work": 1, "after": 1,
                                "set2": 1, "side": 1, "clear": 2}
    snap = client.snapshot(wf)
    assert all(n.state is NodeState.SUCCEEDED for n in snap.nodes.values())
    assert snap.nodes["set"].attempt == 1


def test_the_set_up_tasks_are_marked():
    from cephflow.tasks import load_all

    load_all()
    for name in ("downtime.set", "ceph.set_flag", "ceph.add_noout"):
        assert CATALOG[name].redo_on_resume, name
    for name in ("downtime.clear", "ceph.unset_flag", "ceph.rm_noout", "core.approval"):
        assert not CATALOG[name].redo_on_resume, name
