"""Gentle means gentle, on the real lab: the reweight's next step waits for the last one.

Movement is made slow and visible (short PG logs force backfill, ~1,000 small objects,
``osd_recovery_sleep``), so a step's misplaced objects show for several seconds. What the
cluster really has at the moment of a step is asked from each PG's primary (``pg query``,
fresh, not the mgr's lagging stats) once no PG is peering any more.
"""

from __future__ import annotations

import json

import pytest

from cephflow.ceph.client import CephClient
from cephflow.engine.context import NotYet
from cephflow.tasks.ceph import wait as ceph_wait
from cephflow.tasks.ceph import weight as ceph_weight
from tests.fixtures.services import wait_until
from tests.tasks.ceph.support import FULL, LabRados, Runner, slow_movement

pytestmark = [pytest.mark.ceph]
SLOW = {"osd_min_pg_log_entries": "10", "osd_max_pg_log_entries": "20", "osd_recovery_sleep": "0.1"}
OBJECTS = 1000


class Rados(LabRados):
    """The lab's librados handle, and what the primaries say (``pg query``)."""

    def pg_query(self, pgid: str) -> dict:
        rc, out, err = self.cluster.pg_command(pgid, json.dumps({"prefix": "query", "pgid": pgid}), b"")
        assert rc == 0, err
        return json.loads(out)

    def truth(self, pgids: list[str]) -> float | None:
        """The misplaced ratio as the primaries know it now; None while a PG is peering or
        has not yet seen the current osdmap (its count would still be 0)."""
        epoch = self.mon(prefix="osd dump")["epoch"]
        misplaced = copies = 0
        for pgid in pgids:
            q = self.pg_query(pgid)
            words = set(q["state"].split("+"))
            if q["epoch"] < epoch or words & {"peering", "activating", "unknown"}:
                return None
            misplaced += q["info"]["stats"]["stat_sum"]["num_objects_misplaced"]
            copies += q["info"]["stats"]["stat_sum"]["num_object_copies"]
        return misplaced / copies if copies else 0.0

    def close(self):
        self.cluster.shutdown()


@pytest.fixture
def slow(ceph_lab):
    """Slow, visible movement for one test; weights, flags, config and objects restored."""
    with slow_movement(ceph_lab, Rados(ceph_lab.conf), SLOW, objects=OBJECTS, prefix="gentle",
                       flags=("norebalance",)) as lab:
        yield lab


def test_each_step_waits_until_the_last_one_has_settled_under_the_cap(slow, ceph_lab, monkeypatch):
    client = ceph_lab.client()
    pgids = [p.pgid for p in client.pg_ls().pgs]
    at_step: list[tuple[float, float]] = []
    apply = CephClient.crush_reweight

    def observed(self, item, weight):
        # what the cluster really had when the task decided to take this step
        at_step.append((weight, wait_until(lambda: _some(slow.truth(pgids)), timeout=60,
                                           what="PGs done peering")[0]))
        apply(self, item, weight)

    monkeypatch.setattr(CephClient, "crush_reweight", observed)
    run = Runner(ceph_lab.settings())
    cap = 0.03
    result = run.poll(ceph_weight.reweight, "rw", osd=4, target=0.0, steps=2, max_misplaced=cap, timeout=240)
    monkeypatch.setattr(CephClient, "crush_reweight", apply)
    done = wait_until(lambda: _some(slow.truth(pgids)), timeout=60, what="PGs done peering")[0]

    assert result["weights"] == {"4": 0.0} and [w for w, _ in at_step] == [pytest.approx(FULL / 2), 0.0]
    assert all(ratio <= cap for _, ratio in at_step), at_step
    assert done <= cap, f"reported done with {done:.1%} misplaced"
    # each step moved more than the cap: without the wait, the next step would exceed it
    assert any("waiting: " in line and "misplaced > 3.0%" in line for line in run.progress("rw"))


def test_a_flag_set_by_someone_else_is_named_while_the_reweight_waits(slow, ceph_lab):
    client = ceph_lab.client()
    client.set_flag("norebalance")  # the operator's, not this workflow's
    run = Runner(ceph_lab.settings())
    args = dict(osd=4, target=0.0, steps=2, max_misplaced=0.01)

    def named():
        try:
            run.once(ceph_weight.reweight, "rw", **args)
        except NotYet as wait:
            return "norebalance set by someone else: data will not move until it is unset" in wait.detail
        raise AssertionError("the reweight finished while norebalance held the data")

    wait_until(named, timeout=60, interval=0.5, what="the reweight to name norebalance")
    assert client.osd_tree().osds[4].crush_weight == pytest.approx(FULL / 2)  # one step, then it waits
    with pytest.raises(NotYet, match="norebalance set by someone else"):
        run.once(ceph_wait.wait_healthy, "healthy")
    client.unset_flag("norebalance")
    assert run.poll(ceph_weight.reweight, "rw", timeout=240, **args)["weights"] == {"4": 0.0}


def _some(value):
    """wait_until stops on truthy values; a ratio of 0.0 is an answer too."""
    return None if value is None else (value,)
