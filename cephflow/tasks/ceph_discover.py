"""Discovery: which OSDs live on a host, and where an OSD lives (host, device, model, serial).

Available twice: as plan-time ``discover`` lookups (``ceph.host_osds``, ``ceph.osd_info``,
``ceph.device_osds``) so a plan shows concrete OSD ids, weights and devices, and as tasks that
record the same facts at run time (``ctx.set_fact``) for later steps and for the technicians.
"""

from __future__ import annotations

from typing import Any

from cephflow.ceph.access import client_for
from cephflow.ceph.client import CephClient
from cephflow.ceph.hosts import HostOps, hosts_for
from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.errors import CephError, StepFailed
from cephflow.runbook.catalog import lookup
from cephflow.settings import Settings, get_settings
from cephflow.tasks.ceph_common import ceph, hosts


def osd_info(client: CephClient, host_ops: HostOps, osd: int) -> dict[str, Any]:
    """Host, weight and device facts of one OSD, from Ceph and (where Ceph knows none) the host."""
    tree = client.osd_tree()
    node = tree.osds.get(osd)
    if node is None:
        raise CephError(f"osd.{osd} is not in the CRUSH tree")
    host = node.host or ""
    info: dict[str, Any] = {
        "id": osd,
        "name": f"osd.{osd}",
        "host": host,
        "weight": node.crush_weight,
        "reweight": node.reweight,
        "status": node.status,
        "device_class": node.device_class,
        "device": None,
        "path": None,
        "model": None,
        "serial": None,
    }
    try:
        meta = client.osd_metadata(osd)
    except CephError:
        meta = None
    if meta is not None and meta.devices:
        info.update(device=meta.device, path=meta.device_path, model=meta.model, serial=meta.serial)
    else:
        extra = host_ops.device_info(host, osd)
        if extra is not None:
            info.update(device=extra.device, path=extra.path, model=extra.model, serial=extra.serial)
    return info


def host_osds(client: CephClient, host_ops: HostOps, host: str) -> list[dict[str, Any]]:
    tree = client.osd_tree()
    if host not in tree.hosts:
        raise CephError(f"no CRUSH host named {host!r} (hosts: {', '.join(sorted(tree.hosts))})")
    return [osd_info(client, host_ops, o.id) for o in tree.osds_of(host)]


def _settings() -> Settings:
    return get_settings()


@lookup("ceph.host_osds")
def lookup_host_osds(host: str) -> list[dict[str, Any]]:
    """The OSDs under a CRUSH host, each with weight, device, model and serial."""
    settings = _settings()
    return host_osds(client_for(settings), hosts_for(settings), host)


@lookup("ceph.osd_info")
def lookup_osd_info(osd: int) -> dict[str, Any]:
    """Host, weight, device, model and serial of one OSD."""
    settings = _settings()
    return osd_info(client_for(settings), hosts_for(settings), int(osd))


@lookup("ceph.device_osds")
def lookup_device_osds(host: str, device: str | None = None, osd: int | None = None) -> list[dict[str, Any]]:
    """The OSDs to replace: ``osd`` alone, every OSD of ``host`` on ``device``, or of ``host``."""
    settings = _settings()
    client, host_ops = client_for(settings), hosts_for(settings)
    if osd is not None:
        return [osd_info(client, host_ops, int(osd))]
    if not host:
        raise CephError("give an OSD id, or a host (and a device of it)")
    if not device:
        return host_osds(client, host_ops, host)
    found = [o for o in host_osds(client, host_ops, host) if device in (o["device"], o["path"])]
    if not found:
        raise CephError(f"no OSD of {host} sits on {device}")
    return found


@task("ceph.discover_host")
def discover_host(ctx: StepContext, *, host: str) -> list[dict[str, Any]]:
    """Find the OSDs of a host and keep them as the fact ``host_osds.<host>``."""
    try:
        osds = host_osds(ceph(ctx), hosts(ctx), host)
    except CephError as exc:
        raise StepFailed(str(exc)) from exc
    ctx.set_fact(f"host_osds.{host}", osds)
    ctx.progress(f"{host}: " + (", ".join(f"osd.{o['id']}" for o in osds) or "no OSDs"))
    return osds


@task("ceph.osd_facts")
def osd_facts(ctx: StepContext, *, osd: int) -> dict[str, Any]:
    """Record where an OSD lives (host, device, model, serial) as the fact ``osd.<id>``."""
    known = ctx.fact(f"osd.{osd}")
    if known:  # keep the first answer: after a destroy Ceph no longer knows the device
        return known
    try:
        info = osd_info(ceph(ctx), hosts(ctx), osd)
    except CephError as exc:
        raise StepFailed(str(exc)) from exc
    ctx.set_fact(f"osd.{osd}", info)
    ctx.progress(
        f"osd.{osd} on {info['host']}: {info['device'] or '?'} "
        f"{info['model'] or ''} serial {info['serial'] or '?'}".replace("  ", " ")
    )
    return info
