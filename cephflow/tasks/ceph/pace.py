"""Pacing a weight change: one step at a time, each only once Ceph has settled the last one.

Shared by ``ceph.reweight`` (one OSD, or each OSD of a host) and the batch moves of
``batch.py`` (drain a host in batches, fill a new host): the same rule decides when the next
step may be taken, and the same words say why not yet.
"""

from __future__ import annotations

from cephflow.ceph.client import CephClient
from cephflow.ceph.waiting import why_not_moving_on
from cephflow.engine.context import StepContext
from cephflow.tasks.ceph.common import settled
from cephflow.tasks.ceph.flags import our_flags


def next_weight(current: float, target: float, increment: float) -> float:
    """One step from ``current`` towards ``target``, never past it."""
    if current > target:
        return max(target, current - increment)
    return min(target, current + increment)


def await_settled(ctx: StepContext, client: CephClient, *, what: str,
                  weights: dict[int, float], max_misplaced: float, settle: float) -> None:
    """Return once the movement of the last step (node memo ``epoch``, noted before the
    change) has settled: the stats show it (nothing peering, the osdmap's remapped PGs in the
    stats) and misplaced objects are at most ``max_misplaced``. Otherwise ``not_yet`` with why.
    """
    dump = client.osd_dump()
    pgs = client.pg_ls()
    since = int(ctx.memo.get("epoch") or 0)
    if since:
        # the epoch was noted before the change; a step that died before changing
        # anything must not wait for an epoch that never comes
        since = min(since, dump.epoch)
    why = why_not_moving_on(pgs, dump, ours=our_flags(ctx), max_misplaced=max_misplaced)
    if why:
        ctx.remember("quiet_since", None)
    unseen = bool(since) and not why and not settled(ctx, pgs, since, settle, dump)
    if why or unseen:
        shown = ", ".join(f"osd.{i} weight {w:.5f}" for i, w in weights.items())
        where = shown if [what] == [f"osd.{i}" for i in weights] else f"{what}: {shown}"
        detail = str(why) if why else f"PG stats do not show epoch {since} yet"
        ctx.not_yet(f"{where}: {detail}", countdown=1.0)


def weight_changed(ctx: StepContext, osd: int, old: float, new: float, begin: float) -> None:
    """Tell followers of one weight step, and keep it for ``cancel`` (no cleanup undoes it)."""
    ctx.progress(f"osd.{osd} weight {old:.5f} → {new:.5f}", osd=osd, weight=new)
    ctx.leave(f"osd.{osd}.weight", f"osd.{osd} CRUSH weight {new:.5f} (was {begin:.5f})")
