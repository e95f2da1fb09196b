"""Asking Ceph before acting, and waiting for it: healthy, ok-to-stop, safe-to-destroy.

"Healthy" is judged against the osdmap epoch at which the wait began (the epoch of the change
it waits for): ``ceph status`` lags changes by ~2 s and would otherwise report the old,
clean state. The PG stats must show that epoch (see ``common.settled``), every PG be
active+clean, and no health check remain except the tolerated ones (e.g. OSDMAP_FLAGS while
our noout is set). While waiting it names the cause (``cephflow.ceph.waiting``): a flag set
by someone else, PGs backfill_toofull on an OSD, PGs peering, health checks by code.
"""

from __future__ import annotations

from cephflow.ceph.prechecks import ClusterView, failure_domain_problems
from cephflow.ceph.waiting import why_not_healthy
from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.errors import CannotTellYet, CephError, StepFailed, TransportError, UnsafeOperation
from cephflow.tasks.ceph.common import ceph, settled, through_outages
from cephflow.tasks.ceph.flags import our_flag_checks, our_flags


@task("ceph.wait_healthy", poll=True)
@through_outages
def wait_healthy(
    ctx: StepContext, *, tolerate: list[str] | None = None, settle: float = 3.0
) -> dict:
    """Wait until every PG is active+clean since this step began and health is OK."""
    client = ceph(ctx)
    since = ctx.memo.get("epoch")
    if since is None:
        since = client.epoch()
        ctx.remember("epoch", since)
    allowed = set(tolerate or ()) | set(our_flag_checks(ctx))
    dump = client.osd_dump()
    pgs = client.pg_ls()
    health = client.health()
    why = why_not_healthy(pgs, dump, health, ours=our_flags(ctx), tolerated=allowed)
    if why:
        ctx.remember("quiet_since", None)
    elif not settled(ctx, pgs, since, settle, dump):
        ctx.not_yet(f"waiting: PG stats do not show epoch {since} yet", countdown=1.0)
    if why:
        ctx.not_yet(f"waiting: {why}", countdown=1.0)
    tolerated = sorted(set(health.checks) & allowed)
    ctx.progress(
        f"healthy at epoch {since}: {len(pgs.pgs)} PGs active+clean"
        + (f" (tolerated: {', '.join(tolerated)})" if tolerated else "")
    )
    return {"epoch": since, "status": health.status, "tolerated": tolerated}


@task("ceph.ok_to_stop")
def ok_to_stop(ctx: StepContext, *, osds: list[int]) -> dict:
    """Ask Ceph whether these OSDs can stop without making PGs unavailable; fail if not."""
    try:
        answer = ceph(ctx).ok_to_stop(osds)
    except (TransportError, CannotTellYet):
        raise  # no answer is no "no": the step's retry policy decides
    except CephError as exc:
        raise StepFailed(str(exc)) from exc
    if not answer.ok:
        raise UnsafeOperation(
            f"Ceph says stopping {_names(osds)} is not safe: "
            f"{answer.explanation or f'{answer.num_not_ok_pgs} PGs would become inactive'}"
        )
    ctx.progress(f"ok to stop {_names(osds)} ({answer.num_ok_pgs} PGs stay available)")
    return {"osds": list(answer.osds), "ok": True}


def _names(osds: list[int]) -> str:
    return ", ".join(f"osd.{o}" for o in osds)


MOVING = ("peering", "activating", "backfill", "recover")


def drain_blockers(client, osds: list[int]) -> list[str]:
    """PGs on these OSDs whose CRUSH up set is short: their data has nowhere else to go."""
    dump = client.osd_dump()
    size_of = {p.id: p.size for p in dump.pools.values()}
    short = []
    for pg in client.pg_ls().pgs:
        pool = int(pg.pgid.split(".")[0])
        on_ours = any(o in pg.acting for o in osds)
        up = [o for o in pg.up if o >= 0 and o not in osds]
        if on_ours and len(up) < size_of.get(pool, len(pg.up)):
            short.append(f"pg {pg.pgid} up {list(pg.up)} needs {size_of.get(pool)} OSDs")
    return short


@task("ceph.wait_safe_to_destroy", poll=True)
@through_outages
def wait_safe_to_destroy(
    ctx: StepContext, *, osds: list[int], settle: float = 3.0
) -> dict:
    """Wait until Ceph says destroying these OSDs loses no data; fail if it never can.

    "Never" is when the PG stats show the current osdmap, nothing is peering, backfilling or
    recovering, and PGs on these OSDs have a CRUSH up set short of their pool's size: CRUSH
    has no other place for that data (e.g. a whole host of a size-3 pool on 3 hosts).
    """
    client = ceph(ctx)
    try:
        answer = client.safe_to_destroy(osds)
    except (TransportError, CannotTellYet):
        raise  # an outage, or Ceph cannot judge yet: waited through (through_outages)
    except CephError as exc:
        raise StepFailed(str(exc)) from exc
    if answer.is_safe(osds):
        ctx.progress(f"{_names(osds)} safe to destroy")
        return {"osds": list(osds), "safe": True}
    epoch = client.epoch()
    if ctx.memo.get("epoch") != epoch:
        ctx.remember("epoch", epoch)
        ctx.remember("quiet_since", None)
        ctx.remember("stuck_since", None)
    pgs = client.pg_ls()
    moving = [p for p in pgs.pgs if any(word in p.state for word in MOVING)]
    if answer.active and not moving and settled(ctx, pgs, epoch, settle):
        blockers = drain_blockers(client, osds)
        if blockers:
            first = ctx.memo.get("stuck_since")
            if first is None:
                ctx.remember("stuck_since", ctx.now())  # polls may run on other hosts
            elif ctx.now() - float(first) >= settle:
                raise UnsafeOperation(
                    f"Ceph says {_names(osds)} are not safe to destroy: "
                    f"{client.safe_to_destroy_explanation(osds)}; and the data cannot move: "
                    f"CRUSH finds no other place for {len(blockers)} PGs ({blockers[0]})"
                )
    else:
        ctx.remember("stuck_since", None)
    ctx.not_yet(f"not yet safe: {'; '.join(answer.reasons())}", countdown=1.0)
    raise AssertionError("unreachable")


@task("ceph.check_drain")
def check_drain(ctx: StepContext, *, host: str | None = None, osds: list[int] | None = None) -> dict:
    """Before draining: can every pool keep its full size without these OSDs? Fail if not.

    Counts, per pool, the failure-domain buckets (hosts for the usual rule) that keep weight
    once the OSDs are drained (``prechecks.failure_domain_problems``, the rule the
    prechecks use), and refuses when fewer remain than the pool's size.
    """
    client = ceph(ctx)
    view = ClusterView.read(client)
    if host is not None:
        if host not in view.tree.hosts:
            raise StepFailed(f"no CRUSH host named {host!r}")
        leaving = {o.id for o in view.tree.osds_of(host)}
    else:
        leaving = set(osds or ())
    problems = failure_domain_problems(view, leaving)
    what = host or _names(sorted(leaving))
    if problems:
        raise UnsafeOperation(f"draining {what} is not possible: " + "; ".join(problems))
    ctx.progress(f"{what} can be drained: every pool keeps its size")
    return {"osds": sorted(leaving), "ok": True}
