"""Moving data gently: CRUSH reweight in steps, and marking OSDs out and in.

The reweight is a waiting step that keeps no position of its own: each check reads the OSDs'
weights from the cluster, waits while a pacing signal is over its cap (``ceph.pacing``:
misplaced objects, PGs backfilling, nearfull OSDs, commit latency), then moves one step
towards the target. A worker killed half-way therefore resumes from the weight the
cluster has, not from the start, and running the task again at the target does nothing.
"""

from __future__ import annotations

from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.errors import StepFailed
from cephflow.tasks.ceph.common import ceph, existing_osd, same_weight, through_outages
from cephflow.tasks.ceph.pace import await_settled, caps_for, next_weight, weight_changed


@task("ceph.reweight", destructive=True, poll=True, moves_data=True)
@through_outages
def reweight(
    ctx: StepContext,
    *,
    target: float,
    osd: int | None = None,
    host: str | None = None,
    steps: int = 4,
    max_misplaced: float | None = None,
    max_backfilling: int | None = None,
    max_nearfull: int | None = None,
    max_commit_latency_ms: float | None = None,
    paced: bool = True,
    settle: float = 3.0,
) -> dict:
    """Move the CRUSH weight of an OSD (or each OSD of a host) to ``target`` in gentle steps.

    ``steps`` splits the way from the starting weight to the target. Before each step, and
    before reporting done, it waits until Ceph has finished peering for the previous step
    (no PG peering/activating/unknown, every PG the osdmap remaps shown remapped in the
    stats, the stats at the step's epoch or quiet for ``settle`` seconds) and, before a
    step, every pacing signal is at most its cap: misplaced objects ``max_misplaced`` (a
    ratio: 0.01 is 1 %), PGs backfilling ``max_backfilling``, nearfull OSDs
    ``max_nearfull``, commit latency ``max_commit_latency_ms`` (0: off); a cap not given is
    the ``[pacing]`` setting's. Before reporting done only misplaced objects count.
    ``paced`` False checks no cap (a dead OSD's data is degraded already: waiting would only
    delay its recovery). The wait says why: "waiting: 34 PGs backfilling > 20", a movement
    flag set by someone else, PGs backfill_toofull, PGs peering.
    """
    if (osd is None) == (host is None):
        raise StepFailed("give exactly one of osd or host")
    if target < 0:
        raise StepFailed(f"target weight {target} is negative")
    caps = caps_for(ctx, paced=paced, max_misplaced=max_misplaced,
                    max_backfilling=max_backfilling, max_nearfull=max_nearfull,
                    max_commit_latency_ms=max_commit_latency_ms)
    client = ceph(ctx)
    tree = client.osd_tree()
    if host is not None:
        if host not in tree.hosts:
            raise StepFailed(f"no CRUSH host named {host!r}")
        ids = [o.id for o in tree.osds_of(host)]
    else:
        if osd not in tree.osds:
            raise StepFailed(f"osd.{osd} is not in the CRUSH tree")
        ids = [osd]
    what = host if host is not None else f"osd.{osd}"
    weights = {i: tree.osds[i].crush_weight for i in ids}

    memo = ctx.memo
    start = memo.get("start")
    if start is None:
        start = {str(i): w for i, w in weights.items()}
        ctx.remember("start", start)

    # Wait for the data movement of the previous step (or of whatever was going on); also
    # before reporting done.
    pending = {i: w for i, w in weights.items() if not same_weight(w, target)}
    await_settled(ctx, client, what=what, weights=weights, targets={i: target for i in ids},
                  caps=caps, settle=settle, stepping=bool(pending))

    if not pending:
        ctx.progress(f"{what} at weight {target:.5f}")
        return {"target": target, "osds": ids, "weights": {str(i): target for i in ids}}

    ctx.remember("epoch", client.epoch() + len(pending))
    ctx.remember("quiet_since", None)
    for i, current in pending.items():
        begin = float(start.get(str(i), current))
        increment = max(abs(begin - target) / max(steps, 1), 1.0 / 65536)
        new = next_weight(current, target, increment)
        client.crush_reweight(f"osd.{i}", new)
        weight_changed(ctx, i, current, new, begin)
    ctx.not_yet(f"{what} stepped towards {target:.5f}", countdown=1.0)
    raise AssertionError("unreachable")


@task("ceph.out", moves_data=True)
def mark_out(ctx: StepContext, *, osd: int) -> dict:
    """Mark an OSD out (its data moves elsewhere); an OSD already out stays out."""
    client = ceph(ctx)
    state = existing_osd(client, osd)
    if state.in_:
        client.mark_out(osd)
        ctx.progress(f"osd.{osd} marked out")
    ctx.leave(f"osd.{osd}.out", f"osd.{osd} marked out")
    return {"osd": osd, "in": False, "epoch": client.epoch()}


@task("ceph.in", moves_data=True)
def mark_in(ctx: StepContext, *, osd: int) -> dict:
    """Mark an OSD in; an OSD already in stays in."""
    client = ceph(ctx)
    state = existing_osd(client, osd)
    if not state.in_:
        client.mark_in(osd)
        ctx.progress(f"osd.{osd} marked in")
    ctx.leave(f"osd.{osd}.out", None)
    return {"osd": osd, "in": True}
