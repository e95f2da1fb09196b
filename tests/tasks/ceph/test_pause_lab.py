"""A pause stops the disks, not only the DAG: on the real lab, during a drain.

The reweight runbook drains osd.4 to weight 0 (one step) while the movement is slow enough to
watch: short PG logs (and ``osd_pg_log_trim_min``) so moves are backfills, not log recovery,
~1,000 small objects, ``osd_recovery_sleep``. Pausing then sets ``norebalance`` and
``nobackfill`` as this workflow's; over a measured interval no PG finishes its backfill, the
recovery counters stand still and no step starts; unpausing lets the drain finish. A second
workflow is cancelled while paused, with ``nobackfill`` set by an operator meanwhile: its
finally steps lift the ``norebalance`` the pause set and leave the operator's flag.
"""

from __future__ import annotations

import time

import pytest

from cephflow.engine.keys import WorkflowKeys
from cephflow.engine.state import NodeState, WorkflowState
from cephflow.operations import pause as pausing
from tests.fixtures.ceph_flow import NAMESPACE
from tests.fixtures.services import wait_until
from tests.tasks.ceph.support import LabRados, slow_movement

pytestmark = [pytest.mark.ceph, pytest.mark.services, pytest.mark.slow,
              pytest.mark.usefixtures("lab_settings")]

SLOW = {"osd_min_pg_log_entries": "10", "osd_max_pg_log_entries": "20",
        "osd_pg_log_trim_min": "10", "osd_recovery_sleep": "0.2"}
OBJECTS = 1000
FROZEN_FOR = 8.0
"""Seconds the frozen cluster is watched: several of the mgr's PG stat reports."""


@pytest.fixture
def slow(ceph_lab):
    """Slow, visible backfill for one test; weights, flags, config and objects restored."""
    with slow_movement(ceph_lab, LabRados(ceph_lab.conf), SLOW, objects=OBJECTS, prefix="pause",
                       flags=("norebalance", "nobackfill")) as lab:
        yield lab


def _backfilling(client) -> bool:
    return any(p.misplaced > 0 and p.words & {"backfilling", "backfill_wait"}
               for p in client.pg_ls().pgs)


def _counters(client) -> tuple[int, frozenset[str]]:
    """Objects still misplaced, and the PGs not clean: what moves when backfill goes on."""
    pgs = client.pg_ls().pgs
    return sum(p.misplaced for p in pgs), frozenset(p.pgid for p in pgs if not p.clean)


def _steady(client, seconds: float) -> tuple[int, frozenset[str]]:
    """Counters that stayed the same for ``seconds`` (settled after the flags were set)."""
    last = [_counters(client), time.monotonic()]

    def settled():
        now = _counters(client)
        if now != last[0]:
            last[:] = [now, time.monotonic()]
            return None
        return now if time.monotonic() - last[1] >= seconds else None

    return wait_until(settled, timeout=60, interval=0.5, what="backfill to stand still")


def _steps(flow, wf: str) -> dict[str, tuple[str, int]]:
    snap = flow.client.snapshot(wf)
    return {n.id: (n.state.value, n.attempt) for n in snap.nodes.values()}


def test_pause_during_a_drain_freezes_backfill_and_resume_finishes_it(flow, ceph_lab, slow):
    client = ceph_lab.client()
    wf = flow.submit("reweight", osd=4, target=0.0, weight_steps=1, max_misplaced=0.0)
    wait_until(lambda: _backfilling(client), timeout=60, interval=0.2, what="backfill")
    paused = pausing.pause(flow.client, wf, reason="clients see latency")
    assert paused.moves_data and paused.flags == ["norebalance", "nobackfill"]
    assert paused.left == []
    flags = client.osd_dump().flags
    assert {"norebalance", "nobackfill"} <= set(flags)
    assert flow.client.get_fact(wf, "flag.nobackfill") is True
    assert flow.client.get_fact(wf, pausing.PAUSE_FLAGS_FACT) == ["norebalance", "nobackfill"]

    misplaced, unclean = _steady(client, 4.0)  # past a PG stats report or two
    assert misplaced > 0 and unclean  # frozen half-way, not finished
    steps = _steps(flow, wf)
    checks = len(flow.progress(wf, "reweight"))
    start = time.monotonic()
    samples = []
    while time.monotonic() - start < FROZEN_FOR:  # the measured interval
        samples.append(_counters(client))
        time.sleep(0.5)
    assert all(s == (misplaced, unclean) for s in samples), samples  # no PG finished
    assert _steps(flow, wf) == steps  # no step started, none moved on
    assert steps["healthy"][0] == NodeState.PENDING.value
    assert len(flow.progress(wf, "reweight")) == checks  # the drain did not check again
    assert "reweight" in flow.client.redis.smembers(WorkflowKeys(NAMESPACE, wf).held)

    slow.mon(prefix="config rm", who="osd", name="osd_recovery_sleep")  # finish quickly
    unpaused = pausing.unpause(flow.client, wf)
    assert unpaused.lifted == ["norebalance", "nobackfill"] and unpaused.sent == 1
    assert not {"norebalance", "nobackfill"} & set(client.osd_dump().flags)
    assert flow.client.wait(wf, timeout=120) is WorkflowState.SUCCEEDED
    assert client.osd_tree().osds[4].crush_weight == 0.0
    assert _counters(client)[0] == 0


def test_cancel_while_paused_lifts_the_flags_it_set_and_not_the_operators(flow, ceph_lab,
                                                                          slow):
    client = ceph_lab.client()
    wf = flow.submit("reweight", osd=4, target=0.0, weight_steps=1, max_misplaced=0.0)
    wait_until(lambda: _backfilling(client), timeout=60, interval=0.2, what="backfill")
    client.set_flag("nobackfill")  # an operator's, while the workflow runs
    paused = pausing.pause(flow.client, wf, reason="look first")
    assert (paused.flags, paused.left) == (["norebalance"], ["nobackfill"])
    flow.client.cancel(wf)
    assert flow.client.wait(wf, timeout=60) is WorkflowState.CANCELLED
    flags = set(client.osd_dump().flags)
    assert "norebalance" not in flags  # the pause's: lifted by the finally steps
    assert "nobackfill" in flags  # the operator's: left as it was
    assert flow.client.get_fact(wf, "flag.norebalance") is False
    snap = flow.client.snapshot(wf)
    assert snap.pause is None
    assert snap.nodes["unfreeze-rebalance"].state is NodeState.SUCCEEDED
