"""Pacing a weight change: one step at a time, each only once Ceph has settled the last one
and every pacing signal is under its cap.

Shared by ``ceph.reweight`` (one OSD, or each OSD of a host) and the batch moves of
``batch.py`` (drain a host in batches, fill a new host): the same rule (``ceph.pacing``)
decides when the next step may be taken, and the same words say why not yet. Each check
also keeps the node's ``progress`` (``movement``: each OSD's weight against its start and
target, misplaced and degraded objects left, the measured recovery rate and an ETA), which
``status --json`` and the live tree show.
"""

from __future__ import annotations

import time
from typing import Any

from cephflow.ceph.client import CephClient
from cephflow.ceph.pacing import MOVEMENT, Caps, Rate, Signals, held_back
from cephflow.ceph.waiting import why_not_moving_on
from cephflow.engine.context import NotYet, StepContext
from cephflow.errors import StepFailed
from cephflow.tasks.ceph.common import settled
from cephflow.tasks.ceph.flags import our_flags


def next_weight(current: float, target: float, increment: float) -> float:
    """One step from ``current`` towards ``target``, never past it."""
    if current > target:
        return max(target, current - increment)
    return min(target, current + increment)


def caps_for(ctx: StepContext, *, paced: bool = True, **given: float | int | None) -> Caps:
    """The caps of this step: each value given to it, else the ``[pacing]`` settings."""
    try:
        return Caps.of(ctx.settings.pacing, paced=paced, **given)
    except ValueError as exc:
        raise StepFailed(str(exc)) from None


def await_settled(ctx: StepContext, client: CephClient, *, what: str, weights: dict[int, float],
                  targets: dict[int, float], caps: Caps, settle: float,
                  stepping: bool = True) -> None:
    """Return once the movement of the last step (node memo ``epoch``, noted before the
    change) has settled (nothing peering, the osdmap's remapped PGs in the stats) and every
    signal is under its cap (``stepping`` False: at the target, only misplaced objects
    count). Otherwise ``NotYet`` with why ("waiting: 34 PGs backfilling > 20").
    """
    dump = client.osd_dump()
    pgs = client.pg_ls()
    usage = client.osd_df() if caps.wants_usage and stepping else None
    perf = client.osd_perf() if caps.wants_latency and stepping else None
    since = int(ctx.memo.get("epoch") or 0)
    if since:
        # the epoch was noted before the change; a step that died before changing
        # anything must not wait for an epoch that never comes
        since = min(since, dump.epoch)
    why = why_not_moving_on(pgs, dump, ours=our_flags(ctx), max_misplaced=float("inf"))
    signals = Signals.read(pgs, dump, usage, perf)
    held = held_back(signals, caps, stepping=stepping)
    if why or held:
        ctx.remember("quiet_since", None)
    unseen = bool(since) and not why and not held and not settled(ctx, pgs, since, settle, dump)
    waiting = list(why.blocking) + (["waiting: " + ", ".join(held)] if held else [])
    if unseen:
        waiting.append(f"PG stats do not show epoch {since} yet")
    movement = _movement(ctx, weights, targets, signals, caps, waiting)
    if waiting:
        shown = ", ".join(f"osd.{i} weight {w:.5f}" for i, w in weights.items())
        where = shown if [what] == [f"osd.{i}" for i in weights] else f"{what}: {shown}"
        detail = f"{where}: {'; '.join(waiting + list(why.context))}"
        ctx.progress(detail, progress={MOVEMENT: movement})
        raise NotYet(detail, 1.0)
    ctx.progress(_summary(what, movement), progress={MOVEMENT: movement})


def _movement(ctx: StepContext, weights: dict[int, float], targets: dict[int, float],
              signals: Signals, caps: Caps, waiting: list[str]) -> dict[str, Any]:
    """The node's ``progress.movement``, with the recovery rate measured across checks."""
    start = ctx.memo.get("start") or {}
    rate = Rate.from_json(ctx.memo.get("rate")).after(time.time(), signals.objects_left)
    ctx.remember("rate", rate.to_json())
    return {
        "osds": {str(i): {"weight": w, "target": targets[i],
                          "start": float(start.get(str(i), w))} for i, w in weights.items()},
        "misplaced_objects": signals.misplaced_objects,
        "degraded_objects": signals.degraded_objects,
        "rate": rate.per_second,
        "eta_seconds": rate.eta(signals.objects_left),
        "waiting": waiting,
        "signals": signals.to_json(),
        "caps": caps.to_json(),
    }


def _summary(what: str, movement: dict[str, Any]) -> str:
    left = movement["misplaced_objects"] + movement["degraded_objects"]
    return f"{what}: settled ({left} objects left to move)" if left else f"{what}: settled"


def weight_changed(ctx: StepContext, osd: int, old: float, new: float, begin: float) -> None:
    """Tell followers of one weight step, and keep it for ``cancel`` (no cleanup undoes it)."""
    ctx.progress(f"osd.{osd} weight {old:.5f} → {new:.5f}", osd=osd, weight=new)
    ctx.leave(f"osd.{osd}.weight", f"osd.{osd} CRUSH weight {new:.5f} (was {begin:.5f})")
