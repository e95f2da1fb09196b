"""Bringing a new host in: refuse a host that is not new, create its OSDs at CRUSH weight 0.

The refusal exists twice: as the plan-time lookup ``ceph.new_host`` (``cephflow plan/run``
stop before submitting anything) and as the first run-time step ``ceph.check_new_host`` (the
cluster may have changed between plan and run). Both ask Ceph the same two questions: does a
CRUSH host of that name hold OSDs, and does any OSD's metadata name that hostname.
"""

from __future__ import annotations

from itertools import count
from typing import Any

from cephflow.ceph.access import client_for
from cephflow.ceph.client import CephClient
from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.errors import CephError, StepFailed
from cephflow.runbook.catalog import lookup
from cephflow.settings import get_settings
from cephflow.tasks.ceph.common import ceph, hosts, same_weight, through_outages
from cephflow.tasks.ceph.config import own_config, restore_config

INITIAL_WEIGHT = "osd_crush_initial_weight"


def not_new(client: CephClient, host: str) -> list[str]:
    """Ceph's facts that make ``host`` an existing host (empty when it is new)."""
    facts = []
    tree = client.osd_tree()
    bucket = tree.hosts.get(host)
    if bucket is not None and bucket.osds:
        held = ", ".join(
            f"osd.{i} weight {tree.osds[i].crush_weight:g}" if i in tree.osds else f"osd.{i}"
            for i in bucket.osds
        )
        facts.append(f"CRUSH host {host} holds {held}")
    running = sorted(int(m["id"]) for m in client.osd_metadata_all()
                     if m.get("hostname") == host and "id" in m)
    if running:
        facts.append(f"the metadata of {', '.join(f'osd.{i}' for i in running)} "
                     f"names the hostname {host}")
    return facts


def _refusal(host: str, facts: list[str]) -> str:
    return (f"{host} is not a new host: {'; '.join(facts)}. add-host never touches an existing "
            "host's OSDs (use reweight to change their weights)")


@lookup("ceph.new_host")
def lookup_new_host(host: str) -> dict[str, Any]:
    """Refuse a host that holds OSDs already; for a new one, whether its CRUSH bucket exists."""
    client = client_for(get_settings())
    facts = not_new(client, host)
    if facts:
        raise CephError(_refusal(host, facts))
    return {"host": host, "bucket": host in client.osd_tree().hosts}


@task("ceph.check_new_host")
def check_new_host(ctx: StepContext, *, host: str) -> dict:
    """Fail, before anything changes, when ``host`` holds OSDs already (in CRUSH or by metadata)."""
    facts = not_new(ceph(ctx), host)
    if facts:
        raise StepFailed(_refusal(host, facts))
    ctx.progress(f"{host} holds no OSD: a new host")
    return {"host": host, "new": True}


@task("ceph.create_osd_at_zero", destructive=True, poll=True)
@through_outages
def create_osd_at_zero(ctx: StepContext, *, host: str, device: str | None = None) -> dict:
    """Create an OSD on ``host`` that enters CRUSH at weight 0: nothing moves until it is weighted.

    How: the OSD's id is chosen first (the lowest free id, the one Ceph itself would give),
    ``osd_crush_initial_weight 0`` is set for that one OSD (``ceph config set osd.N``, owned:
    what was there before is recorded first), the host backend creates the OSD with that id,
    and once it is up in CRUSH the per-OSD value is put back (the weight matters only when
    the OSD first joins CRUSH). Nothing cluster-wide changes, so OSDs created meanwhile by
    anyone else, and the operator's own ``osd``/``global`` value, are untouched.

    Why not a mask (``ceph config set osd/host:H``): the mon matches ``host:`` masks against
    the CRUSH location it derives from the daemon's connection, not from the OSD's own
    ``crush location`` setting, and a brand-new OSD is not in CRUSH when it reads its config:
    on the lab such a mask does not reach the new OSD (it came in at the ``osd`` value).
    A per-OSD (``osd.N``) value reaches exactly that daemon on a real cluster and on the lab.

    A ``ceph.conf`` on the host that sets the option wins over the mon's value; an OSD that
    still comes in with a weight is set to 0 at once and the step says so. With cephadm the
    orchestrator picks the id itself (the lowest free one, under this workflow's lock the
    same); an OSD that does not appear under the chosen id fails the step at its timeout.
    """
    client = ceph(ctx)
    memo = ctx.memo
    osd = memo.get("osd")
    dump = client.osd_dump()
    if osd is None or (not memo.get("creating") and osd in dump.osds):
        osd = next(i for i in count() if i not in dump.osds)
        ctx.remember("osd", osd)
    osd = int(osd)
    who = f"osd.{osd}"
    if not memo.get("creating"):
        own_config(ctx, client, who, INITIAL_WEIGHT, "0", until_in_crush=osd)
        ctx.remember("creating", True)
    state = client.osd_dump().osds.get(osd)
    if state is None or state.destroyed:
        try:
            made = hosts(ctx).create_osd(host, device, osd)
        except CephError as exc:
            raise StepFailed(f"creating an OSD on {host}: {exc}") from exc
        if made != osd:
            raise StepFailed(f"the host backend created osd.{made}, not osd.{osd}: its initial "
                             "weight was not controlled; weight it by hand")
        ctx.progress(f"osd.{osd} created on {host} ({device or 'default device'})")
        ctx.not_yet(f"osd.{osd} created, waiting for it to come up in CRUSH", countdown=1.0)
    tree = client.osd_tree()
    if not state.up or tree.host_of(osd) != host:
        ctx.not_yet(f"osd.{osd} created, waiting for it to come up under {host}", countdown=1.0)
    weight = tree.osds[osd].crush_weight
    if not same_weight(weight, 0.0):
        client.crush_reweight(who, 0.0)
        ctx.progress(f"osd.{osd} came in at weight {weight:g} (a ceph.conf value?): set to 0")
    restore_config(ctx, client, who, INITIAL_WEIGHT)
    ctx.progress(f"osd.{osd} up under {host} at weight 0")
    return {"osd": osd, "host": host, "weight": 0.0}
