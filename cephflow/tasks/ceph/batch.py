"""Moving the OSDs of one host together: drain a host in batches, fill a new host.

Why together: CRUSH picks a host first, then an OSD inside it in proportion to the OSDs'
weights (straw2). Lowering one OSD of a host while its siblings keep their weight sends part
of its data to those siblings, which then move it again when their turn comes. Lowering every
OSD of a batch by the same fraction keeps their shares inside the host: data only leaves the
host. When a batch is every OSD of the host at one weight, each step is a single osdmap change
(``ceph osd crush reweight-subtree``), so not even a passing map has a sibling heavier than
the others; otherwise the batch's OSDs are changed one after another within the step.

Both tasks are waiting tasks that keep no position of their own beyond the current batch:
each check reads the weights from the cluster, waits until the last step has settled and
every pacing signal is under its cap (``pace.await_settled``, the rule ``ceph.reweight``
uses; the caps not given are the ``[pacing]`` settings'), then moves
one step (``steps`` splits the way from the batch's starting
weights to the targets).
"""

from __future__ import annotations

from typing import Any

from cephflow.ceph.client import CephClient
from cephflow.ceph.pacing import Caps
from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.errors import StepFailed
from cephflow.tasks.ceph.common import ceph, same_weight, through_outages
from cephflow.tasks.ceph.pace import await_settled, caps_for, next_weight, weight_changed

TIB_KB = 1 << 30
"""KiB in a TiB: a CRUSH weight is the device's size in TiB."""


def step_batch(ctx: StepContext, client: CephClient, *, host: str, targets: dict[int, float],
               steps: int, caps: Caps, settle: float) -> None:
    """One check of a batch move; returns only when every OSD is at its target and data settled.

    Uses the node memo ``start`` (the batch's starting weights) and ``epoch`` (of the last
    change); the caller resets both when it starts a new batch.
    """
    tree = client.osd_tree()
    missing = [i for i in targets if i not in tree.osds]
    if missing:
        raise StepFailed(f"{', '.join(f'osd.{i}' for i in missing)} not in the CRUSH tree")
    weights = {i: tree.osds[i].crush_weight for i in targets}
    start = dict(ctx.memo.get("start") or {})
    if any(str(i) not in start for i in targets):
        start = {str(i): start.get(str(i), w) for i, w in weights.items()}
        ctx.remember("start", start)

    pending = {i: w for i, w in weights.items() if not same_weight(w, targets[i])}
    await_settled(ctx, client, what=host, weights=weights, targets=targets, caps=caps,
                  settle=settle, stepping=bool(pending))
    if not pending:
        return
    new = {}
    for i, current in pending.items():
        begin = float(start[str(i)])
        increment = max(abs(begin - targets[i]) / max(steps, 1), 1.0 / 65536)
        new[i] = next_weight(current, targets[i], increment)
    whole_host = {o.id for o in tree.osds_of(host)} == set(new)
    one_change = whole_host and len({round(w * 65536) for w in new.values()}) == 1
    ctx.remember("epoch", client.epoch() + (1 if one_change else len(new)))
    ctx.remember("quiet_since", None)
    if one_change:
        client.crush_reweight_subtree(host, next(iter(new.values())))
    else:
        for i, weight in new.items():
            client.crush_reweight(f"osd.{i}", weight)
    for i, weight in new.items():
        weight_changed(ctx, i, pending[i], weight, float(start[str(i)]))
    ctx.not_yet(f"{host}: {', '.join(f'osd.{i}' for i in new)} stepped", countdown=1.0)


def pick_batch(client: CephClient, left: list[int], limit: int) -> tuple[list[int], str]:
    """The next OSDs to drain together: what ``ok-to-stop FIRST --max N`` allows, at most ``limit``.

    An empty batch when Ceph says even FIRST is not ok to stop (PGs still peering after
    another change, a PG short of copies): then the drain waits and asks again.
    """
    first = left[0]
    answer = client.ok_to_stop([first], max=max(1, min(limit, len(left))))
    if not answer.ok:
        return [], f"ok-to-stop says no for osd.{first}: {answer.explanation or 'no reason given'}"
    batch = [first] + [i for i in answer.osds if i in left and i != first]
    batch = sorted(batch[: max(1, limit)])
    return batch, f"ok-to-stop --max {min(limit, len(left))} allows {len(answer.osds)}"


@task("ceph.drain_host", destructive=True, poll=True, moves_data=True)
@through_outages
def drain_host(
    ctx: StepContext,
    *,
    host: str,
    max_batch: int = 0,
    steps: int = 4,
    max_misplaced: float | None = None,
    max_backfilling: int | None = None,
    max_nearfull: int | None = None,
    max_commit_latency_ms: float | None = None,
    settle: float = 3.0,
) -> dict[str, Any]:
    """Drain every OSD of ``host`` to weight 0, a batch at a time, each batch's OSDs together.

    A batch is the set that ``ceph osd ok-to-stop FIRST --max N`` allows (the largest set
    of the OSD's host siblings that may stop together; those are stopped after the drain),
    with N = ``max_batch`` or, when 0, the ``max_osd_draining`` setting (10, like cephadm's
    ``max_osd_draining_count``). The next batch starts once the previous one is at 0 and the
    data moved (misplaced under ``max_misplaced``). Each weight step waits until every
    pacing signal is under its cap (``ceph.reweight`` says which). While Ceph says not even the first OSD
    left is ok to stop, the drain waits and asks again (the purge needs that answer anyway).
    """
    limit = max_batch or ctx.settings.max_osd_draining
    caps = caps_for(ctx, max_misplaced=max_misplaced, max_backfilling=max_backfilling,
                    max_nearfull=max_nearfull, max_commit_latency_ms=max_commit_latency_ms)
    client = ceph(ctx)
    tree = client.osd_tree()
    if host not in tree.hosts:
        raise StepFailed(f"no CRUSH host named {host!r}")
    batch = ctx.memo.get("batch")
    if batch:
        step_batch(ctx, client, host=host, targets={int(i): 0.0 for i in batch}, steps=steps,
                   caps=caps, settle=settle)
        ctx.remember("done", [*(ctx.memo.get("done") or []), *batch])
        for key in ("batch", "start", "epoch", "quiet_since"):
            ctx.remember(key, None)
        ctx.progress(f"{host}: {', '.join(f'osd.{i}' for i in batch)} drained")
        tree = client.osd_tree()
    left = sorted(o.id for o in tree.osds_of(host) if not same_weight(o.crush_weight, 0.0))
    if not left:
        ctx.progress(f"{host}: every OSD at weight 0")
        return {"host": host, "osds": [o.id for o in tree.osds_of(host)],
                "batches": ctx.memo.get("batches") or []}
    batch, why = pick_batch(client, left, limit)
    if not batch:
        ctx.not_yet(f"{host}: waiting for Ceph to allow a batch ({why})", countdown=2.0)
    ctx.remember("batch", batch)
    ctx.remember("batches", [*(ctx.memo.get("batches") or []), batch])
    ctx.progress(f"{host}: draining {', '.join(f'osd.{i}' for i in batch)} together ({why})",
                 batch=batch)
    step_batch(ctx, client, host=host, targets={i: 0.0 for i in batch}, steps=steps,
               caps=caps, settle=settle)
    raise AssertionError("unreachable: a new batch always has a step to take")


@task("ceph.fill_host", destructive=True, poll=True, moves_data=True)
@through_outages
def fill_host(
    ctx: StepContext,
    *,
    host: str,
    weight: float | None = None,
    steps: int = 4,
    max_misplaced: float | None = None,
    max_backfilling: int | None = None,
    max_nearfull: int | None = None,
    max_commit_latency_ms: float | None = None,
    settle: float = 3.0,
) -> dict[str, Any]:
    """Weight every OSD of ``host`` up together to its size in TiB (or to ``weight``).

    The sizes are Ceph's own (``ceph osd df``: ``kb`` per OSD), read once when the step
    starts and kept; ``weight`` gives every OSD that weight instead. Paced like
    ``ceph.drain_host``.
    """
    caps = caps_for(ctx, max_misplaced=max_misplaced, max_backfilling=max_backfilling,
                    max_nearfull=max_nearfull, max_commit_latency_ms=max_commit_latency_ms)
    client = ceph(ctx)
    targets = ctx.memo.get("targets")
    if targets is None:
        tree = client.osd_tree()
        ids = [o.id for o in tree.osds_of(host)]
        if not ids:
            raise StepFailed(f"CRUSH host {host!r} holds no OSD to weight up")
        if weight is not None:
            targets = {str(i): float(weight) for i in ids}
        else:
            usage = client.osd_df()
            unknown = [i for i in ids if i not in usage or usage[i].kb <= 0]
            if unknown:
                ctx.not_yet(f"waiting for {', '.join(f'osd.{i}' for i in unknown)} to report "
                            "its size", countdown=1.0)
            targets = {str(i): usage[i].kb / TIB_KB for i in ids}
        ctx.remember("targets", targets)
        ctx.progress(f"{host}: target weights " + ", ".join(
            f"osd.{i} {w:g}" for i, w in targets.items())
            + (" (given)" if weight is not None else " (device sizes in TiB)"))
    step_batch(ctx, client, host=host, targets={int(i): float(w) for i, w in targets.items()},
               steps=steps, caps=caps, settle=settle)
    ctx.progress(f"{host} weighted up")
    return {"host": host, "weights": targets}
