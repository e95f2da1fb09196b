"""Pacing on the real lab: with the backfill cap at 1, a drain never takes a weight step while
more than one PG backfills (or waits to), and it says so while it waits.

What the cap bounds: it gates steps. A step is taken only once the PGs backfilling are at most
the cap; the step itself then starts more (Ceph schedules them), so the count sampled during
the drain does go over the cap, and must, or this test would not tell a program that ignores
the cap from one that keeps it. What is asserted at each step is the count the cluster showed
right then (``pg ls`` asked by the test itself, not by the task), and that the drain held back
at least once saying why.

Movement is made to really use backfill: the memstore lab otherwise recovers a moved PG from
its PG log, which no backfill cap sees. Short PG logs (trimmed early) and a few hundred
objects force backfill; ``osd_recovery_sleep`` keeps each for a moment.
"""

from __future__ import annotations

import threading
import time

import pytest

from cephflow.ceph.client import CephClient
from cephflow.ceph.pacing import BACKFILL_WORDS
from cephflow.tasks.ceph import weight as ceph_weight
from tests.tasks.ceph.support import FULL, LabRados, Runner, slow_movement

pytestmark = [pytest.mark.ceph]
BACKFILL = {"osd_min_pg_log_entries": "5", "osd_max_pg_log_entries": "10",
            "osd_pg_log_trim_min": "1", "osd_recovery_sleep": "0.1"}
OBJECTS = 800
"""About 25 writes in each of the lab pool's 32 PGs: every PG log is trimmed, so a PG that
moves to an OSD that never held it needs backfill."""
CAP = 1


def backfilling(client: CephClient) -> int:
    """PGs backfilling or waiting to, as ``pg ls`` shows them now."""
    return sum(1 for p in client.pg_ls().pgs if p.words & BACKFILL_WORDS)


@pytest.fixture
def backfills(ceph_lab):
    """Moves that use backfill, for one test; config, objects and weights restored."""
    with slow_movement(ceph_lab, LabRados(ceph_lab.conf), BACKFILL, objects=OBJECTS,
                       prefix="pace"):
        yield


def test_with_the_backfill_cap_at_1_no_step_is_taken_while_more_pgs_backfill(
        backfills, ceph_lab, monkeypatch):
    observer = ceph_lab.client()  # the test's own reads, not the task's
    sampled: list[int] = []
    at_step: list[tuple[float, int]] = []
    draining = threading.Event()

    def sample():
        while not draining.wait(0.2):
            sampled.append(backfilling(ceph_lab.client()))

    apply = CephClient.crush_reweight

    def observed(self, item, weight):
        at_step.append((weight, backfilling(observer)))  # what the cluster shows at the step
        apply(self, item, weight)

    monkeypatch.setattr(CephClient, "crush_reweight", observed)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    run = Runner(ceph_lab.settings())
    started = time.monotonic()
    try:
        result = run.poll(ceph_weight.reweight, "drain", osd=4, target=0.0, steps=3,
                          max_backfilling=CAP, max_misplaced=1.0, timeout=150)
    finally:
        draining.set()
        sampler.join(timeout=10)
        monkeypatch.setattr(CephClient, "crush_reweight", apply)
    took = time.monotonic() - started

    assert result["weights"] == {"4": 0.0}
    weights = [w for w, _ in at_step]  # three steps down (CRUSH keeps weights in 1/65536)
    assert len(weights) == 3 and weights == sorted(weights, reverse=True) and weights[-1] == 0.0
    assert all(n <= CAP for _, n in at_step), at_step
    # the cap was put to the test: more PGs backfilled than it allows, and the drain waited
    assert max(sampled) > CAP, sampled
    lines = run.progress("drain")
    assert any(f"PGs backfilling > {CAP}" in line for line in lines), lines[-10:]
    # what status --json and the live tree show: each OSD's way, objects left, rate and ETA
    moves = [d["progress"]["movement"] for _, n, _, d in run.backend.progress
             if n == "drain" and "progress" in d]
    assert moves and moves[-1]["osds"]["4"]["start"] == pytest.approx(FULL)
    assert moves[-1]["caps"]["max_backfilling"] == CAP
    assert moves[-1]["caps"]["max_misplaced"] == 1.0
    assert any(m["rate"] and m["eta_seconds"] is not None and m["misplaced_objects"] > 0
               for m in moves), moves[-5:]
    print(f"drain took {took:.0f} s; backfilling sampled {sampled}; at steps {at_step}")


def test_commit_latency_is_read_from_every_osd_of_the_lab(ceph_lab):
    client = ceph_lab.client()
    latency = client.osd_perf()
    assert sorted(latency) == sorted(client.osd_tree().osds)
    assert all(ms.commit_latency_ms >= 0 for ms in latency.values())
