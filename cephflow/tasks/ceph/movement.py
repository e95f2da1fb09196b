"""The plan-time lookup ``ceph.movement``: what the runbook's weight changes will move.

``discover: {movement: {lookup: ceph.movement, with: {osds: [...], target: 0}}}`` puts the
prediction of ``cephflow.ceph.movement_tools`` into the plan (``discovered.movement``: PGs that
change mapping, bytes, the fullest OSDs after, ETA), where the plan view prints it and
``plan --json`` carries it. A move that would take an OSD past ``backfillfull`` refuses the
plan, ``--force`` or not: Ceph would stall it half way (``backfill_toofull``) with data in
flight. One that would pass ``nearfull`` refuses it unless forced, like the precheck.
"""

from __future__ import annotations

from typing import Any

from cephflow.ceph.access import client_for
from cephflow.ceph.movement import WeightChange, human_bytes
from cephflow.ceph.movement_tools import MovementTool
from cephflow.errors import UnsafeOperation
from cephflow.runbook.catalog import lookup
from cephflow.settings import get_settings

MOVEMENT_LOOKUP = "ceph.movement"


def changes_for(osds: list[int], *, target: float | None, replace: bool,
                down: set[int]) -> list[WeightChange]:
    """The weight changes a runbook makes: every OSD to ``target``; or, replacing disks,
    a dead OSD (``down``) marked out and a running one drained to 0."""
    if replace:
        return [WeightChange(o, out=True) if o in down else WeightChange(o, weight=0.0)
                for o in sorted(osds)]
    return [WeightChange(o, weight=float(target if target is not None else 0.0))
            for o in sorted(osds)]


@lookup(MOVEMENT_LOOKUP)
def lookup_movement(osds: list[int], target: float | None = None, replace: bool = False,
                    force: bool = False) -> dict[str, Any]:
    """PGs and bytes that move, fullness after and ETA; refuses a move past backfillfull."""
    settings = get_settings()
    client = client_for(settings)
    ids = [int(o) for o in osds]
    down = set()
    if replace:
        dump = client.osd_dump()
        down = {o for o in ids if o in dump.osds and not dump.osds[o].up}
    changes = changes_for(ids, target=target, replace=replace, down=down)
    tool = MovementTool(binary=settings.ceph.osdmaptool, timeout=settings.ceph.command_timeout)
    prediction = tool.predict(client, changes, default_rate=settings.ceph.movement_rate)
    refusal = prediction.refusal()
    if refusal:
        raise UnsafeOperation(f"refused before any change: {refusal}")
    near = prediction.over_nearfull
    if near and not force:
        named = ", ".join(f"osd.{f.osd} {f.ratio_after:.1%}" for f in near)
        raise UnsafeOperation(
            f"refused before any change: the move would take {named} past nearfull_ratio "
            f"{prediction.nearfull_ratio:.1%} ({human_bytes(prediction.bytes_to_copy)} to "
            "copy); go on knowingly with --force")
    return prediction.to_json()
