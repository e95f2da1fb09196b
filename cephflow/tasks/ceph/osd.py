"""OSD life cycle: stop and start the daemon, destroy or purge, zap the disk, create again.

Each destructive task asks Ceph right before acting (ok-to-stop before stopping,
safe-to-destroy before destroying or purging) and fails with Ceph's own words when the answer
is no. Each is idempotent: a daemon already stopped, an OSD already destroyed or gone, an OSD
already re-created and up, counts as done.
"""

from __future__ import annotations

from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.errors import CephError, CommandFailed, StepFailed, UnsafeOperation
from cephflow.tasks.ceph.common import (
    ceph,
    existing_osd,
    host_of,
    hosts,
    settled,
    through_outages,
)


@task("ceph.stop_osd", destructive=True, poll=True)
@through_outages
def stop_osd(ctx: StepContext, *, osd: int, host: str | None = None, settle: float = 3.0) -> dict:
    """Stop an OSD's daemon, after Ceph said it is ok to stop.

    ok-to-stop is answered from the mgr's PG stats, which lag the osdmap: right after another
    OSD went down it may still say yes. So the question is asked only once the PG stats show
    the current osdmap epoch (or have been quiet for ``settle`` seconds).
    """
    client = ceph(ctx)
    host = host_of(client, osd, host) if host else _known_host(ctx, client, osd)
    ops = hosts(ctx)
    if not ops.osd_running(host, osd):
        ctx.progress(f"osd.{osd} on {host} already stopped")
        return {"osd": osd, "host": host, "running": False}
    epoch = client.epoch()
    if ctx.memo.get("epoch") != epoch:
        ctx.remember("epoch", epoch)
        ctx.remember("quiet_since", None)
    if not settled(ctx, client.pg_ls(), epoch, settle):
        ctx.not_yet(f"waiting for PG stats to show epoch {epoch} before asking ok-to-stop",
                    countdown=1.0)
    answer = client.ok_to_stop([osd])
    if not answer.ok:
        raise UnsafeOperation(f"Ceph says osd.{osd} is not ok to stop: {answer.explanation}")
    ops.stop_osd(host, osd)
    ctx.leave(f"osd.{osd}.stopped", f"osd.{osd} daemon on {host} stopped")
    ctx.progress(f"osd.{osd} on {host} stopped")
    return {"osd": osd, "host": host, "running": False}


@task("ceph.start_osd")
def start_osd(ctx: StepContext, *, osd: int, host: str | None = None) -> dict:
    """Start an OSD's daemon (nothing to do if it runs)."""
    client = ceph(ctx)
    host = host_of(client, osd, host) if host else _known_host(ctx, client, osd)
    ops = hosts(ctx)
    if not ops.osd_running(host, osd):
        ops.start_osd(host, osd)
        ctx.progress(f"osd.{osd} on {host} started")
    ctx.leave(f"osd.{osd}.stopped", None)
    return {"osd": osd, "host": host, "running": True}


def _known_host(ctx: StepContext, client, osd: int) -> str:
    facts = ctx.fact(f"osd.{osd}")
    if facts and facts.get("host"):
        return facts["host"]
    return host_of(client, osd)


def _require_safe(client, osd: int, action: str) -> None:
    state = client.osd_dump().osds[osd]
    if state.up:
        raise UnsafeOperation(f"osd.{osd} is still up: stop it before it can be {action}")
    answer = client.safe_to_destroy([osd])
    if not answer.is_safe([osd]):
        raise UnsafeOperation(
            f"Ceph says osd.{osd} is not safe to destroy: "
            f"{client.safe_to_destroy_explanation([osd]) or '; '.join(answer.reasons())}"
        )


@task("ceph.destroy_osd", destructive=True)
def destroy_osd(ctx: StepContext, *, osd: int) -> dict:
    """Destroy an OSD but keep its id and CRUSH place for the replacement disk."""
    client = ceph(ctx)
    state = existing_osd(client, osd)
    if state.destroyed:
        ctx.progress(f"osd.{osd} already destroyed")
        return {"osd": osd, "destroyed": True}
    _require_safe(client, osd, "destroyed")
    _change(lambda: client.destroy(osd))
    ctx.leave(f"osd.{osd}.destroyed", f"osd.{osd} destroyed (its id is kept for a new disk)")
    ctx.progress(f"osd.{osd} destroyed (id kept for the replacement)")
    return {"osd": osd, "destroyed": True}


@task("ceph.purge_osd", destructive=True, moves_data=True)
def purge_osd(ctx: StepContext, *, osd: int) -> dict:
    """Remove an OSD entirely (CRUSH item, auth key, id), after Ceph said it is safe."""
    client = ceph(ctx)
    state = client.osd_dump().osds.get(osd)
    if state is None:
        ctx.progress(f"osd.{osd} already gone")
        return {"osd": osd, "purged": True}
    if not state.destroyed:
        _require_safe(client, osd, "purged")
    _change(lambda: client.purge(osd))
    ctx.leave(f"osd.{osd}.destroyed", f"osd.{osd} purged")
    ctx.progress(f"osd.{osd} purged")
    return {"osd": osd, "purged": True}


def _change(fn) -> None:
    """Run a change; the mon's own refusal (EBUSY, EAGAIN) becomes UnsafeOperation."""
    try:
        fn()
    except CommandFailed as exc:
        if exc.status in (11, 16):
            raise UnsafeOperation(f"Ceph refused: {exc.stderr.strip()}") from exc
        raise


@task("ceph.zap", destructive=True)
def zap(ctx: StepContext, *, osd: int, host: str | None = None, device: str | None = None,
        db: str | None = None) -> dict:
    """Wipe the disk of a destroyed (or purged) OSD whose daemon is stopped (and its DB/WAL
    volume ``db``, which is kept for the replacement)."""
    if ctx.memo.get("zapped"):
        return {"osd": osd, "zapped": True}
    client = ceph(ctx)
    facts = ctx.fact(f"osd.{osd}") or {}
    host = host or facts.get("host")
    device = device or facts.get("device")
    db = db or facts.get("db")
    if not host:
        raise StepFailed(f"zap osd.{osd}: host unknown (run ceph.osd_facts first)")
    state = client.osd_dump().osds.get(osd)
    if state is not None and not state.destroyed:
        raise UnsafeOperation(f"osd.{osd} is not destroyed: refusing to wipe its disk")
    ops = hosts(ctx)
    if ops.osd_running(host, osd):
        raise UnsafeOperation(f"osd.{osd} still runs on {host}: refusing to wipe its disk")
    ops.zap(host, osd, device, db)
    ctx.remember("zapped", True)
    ctx.progress(f"{host}:{device or f'osd.{osd}'} zapped")
    return {"osd": osd, "zapped": True}


@task("ceph.create_osd", destructive=True, moves_data=True)
def create_osd(
    ctx: StepContext, *, host: str, osd: int | None = None, device: str | None = None,
    db: str | None = None, device_class: str | None = None,
) -> dict:
    """Create an OSD on ``host`` (re-using id ``osd`` when given) and wait for it to be up.

    ``db``: the DB/WAL volume the old OSD had; ``device_class``: the CRUSH class it had
    (an operator's ``ssd``/``nvme``/custom class is restored, not left to auto-detection).
    """
    client = ceph(ctx)
    created = ctx.memo.get("created")
    want = osd if osd is not None else created
    if want is not None:
        state = client.osd_dump().osds.get(int(want))
        if state is not None and not state.destroyed and (state.up or created is not None):
            if not state.up:
                ctx.not_yet(f"osd.{want} created, waiting for it to come up", countdown=1.0)
            _restore_class(ctx, client, int(want), device_class)
            for change in ("destroyed", "stopped", "out"):
                ctx.leave(f"osd.{want}.{change}", None)
            ctx.progress(f"osd.{want} up on {host}")
            return {"osd": int(want), "host": host}
        if osd is not None and state is not None and not state.destroyed:
            raise UnsafeOperation(f"osd.{osd} exists and is not destroyed: cannot re-use its id")
    known = (ctx.fact(f"osd.{osd}") or {}) if osd is not None else {}
    device, db = device or known.get("device"), db or known.get("db")
    try:
        new = hosts(ctx).create_osd(host, device, osd, db)
    except CephError as exc:
        raise StepFailed(f"creating an OSD on {host}: {exc}") from exc
    ctx.remember("created", new)
    ctx.progress(f"osd.{new} created on {host}")
    ctx.not_yet(f"osd.{new} created, waiting for it to come up", countdown=1.0)
    raise AssertionError("unreachable")


def _restore_class(ctx: StepContext, client, osd: int, device_class: str | None) -> None:
    if not device_class:
        return
    node = client.osd_tree().osds.get(osd)
    if node is not None and node.device_class != device_class:
        client.set_device_class(osd, device_class)
        ctx.progress(f"osd.{osd} device class {node.device_class or 'none'} → {device_class}")


@task("ceph.remove_host", destructive=True)
def remove_host(ctx: StepContext, *, host: str) -> dict:
    """Remove an empty host bucket from CRUSH (refused while OSDs remain under it)."""
    client = ceph(ctx)
    tree = client.osd_tree()
    bucket = tree.hosts.get(host)
    if bucket is None:
        ctx.progress(f"{host} not in CRUSH (already removed)")
        return {"host": host, "removed": True}
    if bucket.osds:
        raise UnsafeOperation(
            f"{host} still holds {', '.join(f'osd.{i}' for i in bucket.osds)}: not removed"
        )
    client.crush_remove(host)
    ctx.progress(f"{host} removed from CRUSH")
    return {"host": host, "removed": True}


@task("ceph.add_host")
def add_host(ctx: StepContext, *, host: str, root: str = "default") -> dict:
    """Create the CRUSH host bucket for a new host (idempotent)."""
    client = ceph(ctx)
    if host not in client.osd_tree().hosts:
        client.crush_add_host(host, root)
        ctx.progress(f"{host} added to CRUSH under {root}")
    return {"host": host}
