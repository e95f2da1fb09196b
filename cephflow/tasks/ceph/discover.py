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
from cephflow.ceph.models import Health, OsdDump, OsdTree, osds_named
from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.errors import CephError, StepFailed, TransportError
from cephflow.runbook.catalog import lookup
from cephflow.settings import Settings, get_settings
from cephflow.tasks.ceph.common import ceph, hosts


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
        "up": node.status == "up",
        "in": node.reweight > 0,
        "device_class": node.device_class,
        "device": None,
        "path": None,
        "model": None,
        "serial": None,
        "db": None,
    }
    try:
        meta = client.osd_metadata(osd)
    except TransportError:
        raise  # facts are kept once: never record an outage as "no device known"
    except CephError:
        meta = None
    if meta is not None and meta.devices:
        info.update(device=meta.device, path=meta.device_path, model=meta.model, serial=meta.serial)
    extra = host_ops.device_info(host, osd)
    if extra is not None:  # what the host knows and Ceph does not (the DB volume, lab slots)
        for key in ("device", "path", "model", "serial"):
            info[key] = info[key] or getattr(extra, key)
        info["db"] = extra.db
    return info


DEVICE_HEALTH_CHECKS = ("DEVICE_HEALTH", "DEVICE_HEALTH_IN_USE", "DEVICE_HEALTH_TOOMANY")


def failing_osds(tree: OsdTree, dump: OsdDump, health: Health) -> dict[int, str]:
    """OSDs whose disk has failed or is failing, with why: down, destroyed, or named by a
    device health warning (Ceph's devicehealth module predicts the disk will fail)."""
    found: dict[int, str] = {}
    for code in DEVICE_HEALTH_CHECKS:
        check = health.checks.get(code)
        for line in check.details if check else ():
            for osd in osds_named(line):
                found[osd] = f"{code}: {line.strip()}"
    for osd, state in dump.osds.items():
        if state.destroyed:
            found[osd] = "destroyed"
        elif not state.up:
            found[osd] = "down" + ("" if state.in_ else " and out")
    return {o: why for o, why in found.items() if o in tree.osds or o in dump.osds}


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


def replace_targets(client: CephClient, host_ops: HostOps, *, host: str = "",
                    device: str | None = None, osd: int | None = None,
                    all_failed: bool = False) -> list[dict[str, Any]]:
    """The OSDs ``replace-disk`` replaces, each with ``failed`` (why) or None.

    ``osd``: that OSD (``host``, if given too, must be where it lives). ``host`` and
    ``device``: every OSD on that device. ``host`` alone: the failed disk of that host, all
    OSDs sharing its device; none is an error that says what was checked, several need
    ``all_failed``.
    """
    tree, dump, health = client.osd_tree(), client.osd_dump(), client.health()
    failing = failing_osds(tree, dump, health)
    if osd is not None:
        info = osd_info(client, host_ops, int(osd))
        if host and info["host"] != host:
            raise CephError(f"osd.{osd} is on {info['host'] or 'no CRUSH host'}, not {host}: "
                            "--osd and --host must name the same disk")
        return [{**info, "failed": failing.get(int(osd))}]
    if not host:
        raise CephError("give an OSD id (--osd), or a host (--host, and --device for one disk)")
    osds = [{**o, "failed": failing.get(o["id"])} for o in host_osds(client, host_ops, host)]
    if device:
        found = [o for o in osds if device in (o["device"], o["path"])]
        if not found:
            raise CephError(f"no OSD of {host} sits on {device}")
        return found
    failed = [o for o in osds if o["failed"]]
    if not failed:
        checked = ", ".join(f"osd.{o['id']} ({o['status']})" for o in osds) or "no OSDs"
        raise CephError(
            f"no failed disk on {host}: checked {checked} for down, destroyed and device "
            f"health warnings; name a disk with --osd ID or --device DEV")
    disks = {o["device"] or o["name"] for o in failed}
    if len(disks) > 1 and not all_failed:
        listed = ", ".join(f"osd.{o['id']} ({o['failed']})" for o in failed)
        raise CephError(f"{host} has {len(disks)} failed disks ({listed}): replace one with "
                        "--osd ID, or all of them with --all-failed")
    return [o for o in osds if (o["device"] or o["name"]) in disks]


@lookup("ceph.replace_targets")
def lookup_replace_targets(host: str = "", device: str | None = None, osd: int | None = None,
                           all_failed: bool = False) -> list[dict[str, Any]]:
    """What replace-disk replaces: ``--osd``, the OSDs on ``--host``'s ``--device``, or the
    failed disk(s) of ``--host``."""
    settings = _settings()
    return replace_targets(client_for(settings), hosts_for(settings), host=host, device=device,
                           osd=osd, all_failed=all_failed)


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
def discover_host(ctx: StepContext, *, host: str) -> dict[str, Any]:
    """Find the OSDs a host has now, as the step's output ``{"host", "osds", "ids"}`` (each
    OSD as ``osd_info`` gives it) and the fact ``host_osds.<host>``: the runbooks fan out
    over ``steps.<this step>.output.osds``, the OSDs of the host when the work starts, not
    when it was planned."""
    try:
        osds = host_osds(ceph(ctx), hosts(ctx), host)
    except TransportError:
        raise  # Ceph did not answer: the step's retry policy decides, not a failure
    except CephError as exc:
        raise StepFailed(str(exc)) from exc
    ctx.set_fact(f"host_osds.{host}", osds)
    ctx.progress(f"{host}: " + (", ".join(f"osd.{o['id']}" for o in osds) or "no OSDs"))
    return {"host": host, "osds": osds, "ids": [o["id"] for o in osds]}


@task("ceph.osd_facts")
def osd_facts(ctx: StepContext, *, osd: int) -> dict[str, Any]:
    """Record where an OSD lives (host, device, model, serial) as the fact ``osd.<id>``."""
    known = ctx.fact(f"osd.{osd}")
    if known:  # keep the first answer: after a destroy Ceph no longer knows the device
        return known
    try:
        info = osd_info(ceph(ctx), hosts(ctx), osd)
    except TransportError:
        raise  # Ceph did not answer: the step's retry policy decides, not a failure
    except CephError as exc:
        raise StepFailed(str(exc)) from exc
    ctx.set_fact(f"osd.{osd}", info)
    ctx.progress(
        f"osd.{osd} on {info['host']}: {info['device'] or '?'} "
        f"{info['model'] or ''} serial {info['serial'] or '?'}".replace("  ", " ")
    )
    return info
