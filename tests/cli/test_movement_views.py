"""A running weight move in the live tree and the header: each OSD's way to its target, the
objects left, the measured rate and an ETA from it; the wait's words are its progress line."""

from __future__ import annotations

from cephflow.cli.views.movement import movement_line
from cephflow.cli.views.tree import WorkflowTree
from cephflow.operations.eta import outlook
from tests.cli.golden import render
from tests.cli.samples import T0, node, workflow


def moving(osds: dict[str, dict], *, eta: float | None = 26.3, rate: float | None = 20.0,
           misplaced: int = 526, degraded: int = 0) -> dict:
    return {"movement": {"osds": osds, "misplaced_objects": misplaced,
                         "degraded_objects": degraded, "rate": rate, "eta_seconds": eta,
                         "waiting": ["waiting: 19 PGs backfilling > 18"], "signals": {},
                         "caps": {}}}


def reweight(progress: dict, state: str = "running"):
    made = node("reweight", "ceph.reweight", state=state, started=0.0,
                detail="osd.4 weight 0.00024: waiting: 19 PGs backfilling > 18")
    made.progress = progress
    return made


def test_a_running_move_shows_its_osds_objects_left_and_eta_under_the_wait():
    half = {"4": {"weight": 0.000244, "target": 0.0, "start": 0.000488}}
    snap = workflow([reweight(moving(half))])
    text = render(WorkflowTree(snap, now=T0 + 60), width=140)
    assert "waiting: 19 PGs backfilling > 18" in text
    assert "osd.4 0.000244 → 0 (50%) · 526 misplaced, 0 degraded left · 20 objects/s · ETA 26s" in text


def test_a_host_of_many_osds_is_summed_up_and_no_rate_yet_is_said():
    osds = {str(i): {"weight": w, "target": 0.0, "start": 1.0}
            for i, w in enumerate([0.5, 0.5, 0.25, 0.25])}
    line = movement_line(moving(osds, eta=None, rate=None)["movement"])
    assert line == "4 OSDs 62% of the way · 526 misplaced, 0 degraded left · ETA unknown (no rate yet)"


def test_a_finished_move_keeps_one_line():
    snap = workflow([reweight(moving({"4": {"weight": 0.0, "target": 0.0, "start": 1.0}}),
                              state="succeeded")])
    assert "degraded left" not in render(WorkflowTree(snap, now=T0 + 60), width=140)


def test_the_header_eta_follows_the_measured_recovery_rate():
    # no step has ended to take a mean from: a running step has no estimate...
    assert outlook(workflow([node("x", state="running", started=0.0)]), T0 + 5).seconds is None
    # ...but a running weight move has the one its pacing measured
    only = workflow([reweight(moving({"4": {"weight": 0.5, "target": 0.0, "start": 1.0}},
                                     eta=90.0))])
    assert outlook(only, T0 + 5).seconds == 90.0
