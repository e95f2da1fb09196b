"""The Ceph runbooks on the failures they are named for, and the prechecks that refuse.

Real failures on the lab: an OSD daemon killed (a dead disk), already marked out, two dead
on one host; operator flags, a degraded cluster, lowered full ratios, a pool that would lose a
failure domain. Each refusal is a plan that does not compile (so nothing is submitted: no
silence, no flag, no weight changed); each replacement ends with the same ids, full weights
and every object's checksum as before.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cephflow.engine.state import WorkflowState
from cephflow.errors import RunbookError
from cephflow.lab.cluster import repeered_without
from cephflow.runbook.compiler import compile_runbook
from cephflow.tasks import load_all
from tests.fixtures.ceph_flow import ME
from tests.fixtures.services import wait_until
from tests.tasks.ceph.support import FULL, set_pools

pytestmark = [pytest.mark.ceph, pytest.mark.services, pytest.mark.slow,
              pytest.mark.usefixtures("lab_settings")]


def _ceph(lab, *words: str) -> None:
    from cephflow.ceph.command_runner import LocalRunner

    LocalRunner(timeout=60).run(["ceph", "-c", str(lab.conf), *words]).check()


def _refused(runbook: str, **params) -> str:
    load_all()
    with pytest.raises(RunbookError) as caught:
        compile_runbook(runbook, params)
    return str(caught.value)


def _picture(lab) -> dict:
    client = lab.client()
    dump = client.osd_dump()
    return {"flags": sorted(dump.flags), "epoch": dump.epoch,
            "weights": {i: o.crush_weight for i, o in client.osd_tree().osds.items()}}


def _kill(lab, osd: int) -> None:
    """A dead disk, as ``cephflow lab fail-disk`` makes one: down, and its PGs re-peered."""
    lab.cluster.labctl("kill-osd", str(osd))
    wait_until(lambda: repeered_without(lab.client(), osd), timeout=60,
               what=f"osd.{osd} marked down and its PGs re-peered without it")


@pytest.fixture
def healthy_after(ceph_lab) -> Iterator[None]:
    """Whatever a test broke on purpose, the lab is whole and clean for the next one."""
    yield
    client = ceph_lab.client()
    for osd, state in client.osd_dump().osds.items():
        if not state.up and not state.destroyed:
            ceph_lab.cluster.labctl("start-osd", str(osd))
    ceph_lab.cluster.labctl("wait-clean", "120", timeout=180)


def test_a_host_without_a_failed_disk_is_refused_saying_what_was_checked(ceph_lab):
    message = _refused("replace-disk", host="lab-b")
    assert "no failed disk on lab-b" in message
    assert "osd.2 (up)" in message and "osd.3 (up)" in message and "--osd" in message


def test_osd_and_host_must_agree(ceph_lab):
    host = ceph_lab.client().osd_tree().host_of(2)
    other = next(h for h in ("lab-a", "lab-b", "lab-c") if h != host)
    message = _refused("replace-disk", osd=2, host=other)
    assert f"osd.2 is on {host}, not {other}" in message


def test_an_operators_flag_refuses_before_anything_changes(ceph_lab, healthy_after):
    _ceph(ceph_lab, "osd", "set", "noout")
    try:
        before = _picture(ceph_lab)
        for runbook, params in (("replace-disk", {"osd": 1}), ("drain-host", {"host": "lab-a"}),
                                ("reweight", {"osd": 1, "target": 0.0002})):
            message = _refused(runbook, **params)
            assert "noout set by someone else" in message, runbook
        load_all()
        compile_runbook("replace-disk", {"osd": 1, "force": True})  # knowingly: allowed
        assert _picture(ceph_lab) == before
    finally:
        _ceph(ceph_lab, "osd", "unset", "noout")


def test_a_degraded_cluster_refuses_work_on_other_osds(ceph_lab, healthy_after):
    _kill(ceph_lab, 5)
    message = _refused("reweight", osd=0, target=0.0002)
    assert "osd.5 down and in, not part of this work" in message
    assert "OSD_DOWN" in message


def test_a_pool_that_would_lose_a_failure_domain_is_refused(ceph_lab):
    message = _refused("reweight", host="lab-b", target=0.0)
    assert "pool labpool keeps 3 copies on distinct hosts but only 2 would remain" in message
    load_all()
    with pytest.raises(RunbookError):  # not forceable: the data could never move
        compile_runbook("reweight", {"host": "lab-b", "target": 0.0, "force": True})


def test_full_ratios_the_move_would_pass_are_refused(ceph_lab, healthy_after):
    dump = ceph_lab.client().osd_dump()
    try:
        _ceph(ceph_lab, "osd", "set-nearfull-ratio", "0.0001")
        _ceph(ceph_lab, "osd", "set-backfillfull-ratio", "0.0002")
        message = _refused("replace-disk", osd=1, force=True)
        assert "would pass backfillfull" in message and "backfill_toofull" in message
    finally:
        _ceph(ceph_lab, "osd", "set-backfillfull-ratio", f"{dump.backfillfull_ratio:.2f}")
        _ceph(ceph_lab, "osd", "set-nearfull-ratio", f"{dump.nearfull_ratio:.2f}")


def _replace(flow, lab, **params) -> str:
    wf = flow.submit("replace-disk", approvers=[ME], downtime=False, notify=False, weight_steps=2,
                     **params)
    wait_until(lambda: flow.client.snapshot(wf).nodes["disk-replaced"].attempt >= 1
               or flow.client.snapshot(wf).state.terminal,
               timeout=180, what=_where(flow, wf, "the swap confirmation gate to open"))
    snap = flow.client.snapshot(wf)
    assert snap.nodes["disk-replaced"].attempt >= 1, snap.error
    assert "noout" not in lab.client().osd_dump().flags  # no cluster-wide noout held
    flow.client.approve(wf, "disk-replaced", user=ME)
    assert flow.client.wait(wf, timeout=240) is WorkflowState.SUCCEEDED, \
        flow.client.snapshot(wf).error
    return wf


class _where:  # noqa: N801 - rendered lazily, when a wait times out
    """Where a workflow stands, for a timeout's message: its unfinished steps and details."""

    def __init__(self, flow, wf, what: str):
        self.flow, self.wf, self.what = flow, wf, what

    def __str__(self) -> str:
        nodes = self.flow.client.snapshot(self.wf).nodes
        return self.what + " (" + "; ".join(
            f"{n} {v.state.value}: {v.detail}" for n, v in nodes.items()
            if v.state.value in ("running", "queued", "failed")) + ")"


def _whole(lab, osds, sums) -> None:
    client = lab.client()
    dump, tree = client.osd_dump(), client.osd_tree()
    for osd in osds:
        assert dump.osds[osd].up and dump.osds[osd].in_ and not dump.osds[osd].destroyed
        assert tree.osds[osd].crush_weight == pytest.approx(FULL)
    assert lab.read_checksums(sums) == sums


def test_a_dead_disk_is_replaced_by_host(flow, ceph_lab, healthy_after):
    sums = ceph_lab.write_objects("dead-host", 60)
    _kill(ceph_lab, 3)
    host = ceph_lab.client().osd_tree().host_of(3)
    wf = _replace(flow, ceph_lab, host=host)
    snap = flow.client.snapshot(wf)
    assert sorted(n for n in snap.nodes if n.startswith("drain[")) \
        == ["drain[osd.3]"]  # the failed disk only, not its healthy neighbour
    # down but still in: its weight goes to 0 at once, so that Ceph rebuilds its copies
    assert snap.nodes["drain[osd.3]"].state.value == "succeeded"
    _whole(ceph_lab, [3], sums)


def test_a_dead_disk_already_out_is_replaced_by_osd(flow, ceph_lab, healthy_after):
    sums = ceph_lab.write_objects("dead-out", 60)
    _kill(ceph_lab, 1)
    _ceph(ceph_lab, "osd", "out", "1")
    wf = _replace(flow, ceph_lab, osd=1)
    # down and out when the work started: not drained (a CRUSH weight change would move
    # the data Ceph already rebuilt elsewhere once more)
    drain = flow.client.snapshot(wf).nodes["drain[osd.1]"]
    assert drain.state.value == "skipped" and drain.detail.startswith("skipped: if ")
    assert flow.progress(wf, "drain[osd.1]") == []
    _whole(ceph_lab, [1], sums)


def test_two_dead_disks_on_one_host_need_all_failed(flow, ceph_lab, healthy_after):
    sums = ceph_lab.write_objects("two-dead", 60)
    host = ceph_lab.client().osd_tree().host_of(4)
    pair = sorted(o.id for o in ceph_lab.client().osd_tree().osds_of(host))
    for osd in pair:
        _kill(ceph_lab, osd)
    message = _refused("replace-disk", host=host)
    assert f"{host} has 2 failed disks" in message and "--all-failed" in message
    # the whole host is gone: size-3 pools on 3 hosts cannot rebuild the copies elsewhere
    message = _refused("replace-disk", host=host, all_failed=True, force=True)
    assert "keeps 3 copies on distinct hosts but only 2 would remain" in message
    client = ceph_lab.client()
    set_pools(client, "2", "1")
    try:
        wf = _replace(flow, ceph_lab, host=host, all_failed=True)
        assert sorted(n for n in flow.client.snapshot(wf).nodes
                      if n.startswith("create[") and n != "create[*]") \
            == [f"create[osd.{o}]" for o in pair]
        _whole(ceph_lab, pair, sums)
    finally:
        set_pools(client, "3", "2")
        ceph_lab.cluster.labctl("wait-clean", "120", timeout=180)


def test_an_osd_dying_during_a_replacement_is_named_and_nothing_is_lost(flow, ceph_lab, healthy_after):
    sums = ceph_lab.write_objects("second-death", 60)
    wf = flow.submit("replace-disk", osd=1, approvers=[ME], downtime=False, notify=False, weight_steps=2)
    wait_until(lambda: flow.client.snapshot(wf).nodes["disk-replaced"].attempt >= 1,
               timeout=180, what="the swap confirmation gate to open")
    _kill(ceph_lab, 4)  # another disk dies while osd.1 is away
    flow.client.approve(wf, "disk-replaced", user=ME)

    def named() -> bool:
        return any("osd.4 down" in (v.detail or "") or "OSD_DOWN" in (v.detail or "")
                   for v in flow.client.snapshot(wf).nodes.values()
                   if v.state.value == "running")

    wait_until(named, timeout=240, what=_where(flow, wf, "a wait to name the dead osd.4"))
    assert not flow.client.snapshot(wf).state.terminal  # it waits, it does not call it healthy
    ceph_lab.cluster.labctl("start-osd", "4")
    assert flow.client.wait(wf, timeout=240) is WorkflowState.SUCCEEDED
    _whole(ceph_lab, [1, 4], sums)


def test_the_operators_noout_survives_a_forced_run_and_a_cancel(flow, ceph_lab):
    sums = ceph_lab.write_objects("operator-noout", 40)
    _ceph(ceph_lab, "osd", "set", "noout")
    try:
        wf = flow.submit("replace-disk", osd=2, force=True, approvers=[ME], downtime=False,
                         notify=False, weight_steps=2)
        wait_until(lambda: flow.client.snapshot(wf).nodes["disk-replaced"].attempt >= 1,
                   timeout=180, what="the swap confirmation gate to open")
        flow.client.cancel(wf)
        assert flow.client.wait(wf, timeout=120) is WorkflowState.CANCELLED
        assert "noout" in ceph_lab.client().osd_dump().flags
        assert "osd.2 destroyed (its id is kept for a new disk)" in flow.client.left_changes(wf)
        flow.client.resume(wf)
        wait_until(lambda: flow.client.snapshot(wf).nodes["disk-replaced"].attempt >= 1
                   and flow.client.snapshot(wf).nodes["disk-replaced"].state.value == "running",
                   timeout=180, what="the resumed gate to open")
        flow.client.approve(wf, "disk-replaced", user=ME)
        assert flow.client.wait(wf, timeout=240) is WorkflowState.SUCCEEDED
        assert "noout" in ceph_lab.client().osd_dump().flags
        assert flow.client.left_changes(wf) == [] or all(
            "osd.2 destroyed" not in c for c in flow.client.left_changes(wf))
    finally:
        _ceph(ceph_lab, "osd", "unset", "noout")
    _whole(ceph_lab, [2], sums)
