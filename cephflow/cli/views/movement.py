"""A weight move's progress in one line: how far each OSD's weight is, what is left, the ETA.

Pure: from the node's ``progress.movement`` that the pacing keeps (tasks/ceph/pace.py):
``osds`` (id -> weight, target, start), misplaced and degraded objects left, the measured
recovery rate (object copies per second) and the ETA it gives. The live tree shows it under
a running weight step; why the step waits is its progress line already.
"""

from __future__ import annotations

from typing import Any

from cephflow.cli.views.style import duration

OSDS_NAMED = 3
"""Up to this many OSDs are shown one by one; more are summed up."""


def done_fraction(osd: dict[str, Any]) -> float:
    """How much of its way from start to target an OSD's weight has gone (0..1)."""
    start, weight, target = (float(osd.get(k, 0.0)) for k in ("start", "weight", "target"))
    way = abs(target - start)
    return 1.0 if way <= 0 else min(1.0, max(0.0, abs(weight - start) / way))


def movement_line(movement: dict[str, Any]) -> str:
    """``osd.4 0.00024 → 0 (50%) · 526 misplaced, 0 degraded left · 20 objects/s · ETA 26s``."""
    osds = movement.get("osds") or {}
    parts = []
    if osds and len(osds) <= OSDS_NAMED:
        parts.append(", ".join(
            f"osd.{i} {float(o.get('weight', 0)):.5g} → {float(o.get('target', 0)):.5g} "
            f"({done_fraction(o):.0%})" for i, o in osds.items()))
    elif osds:
        mean = sum(done_fraction(o) for o in osds.values()) / len(osds)
        parts.append(f"{len(osds)} OSDs {mean:.0%} of the way")
    parts.append(f"{movement.get('misplaced_objects', 0)} misplaced, "
                 f"{movement.get('degraded_objects', 0)} degraded left")
    rate = movement.get("rate")
    if rate:
        parts.append(f"{rate:.3g} objects/s")
    eta = movement.get("eta_seconds")
    parts.append(f"ETA {duration(eta)}" if eta is not None else "ETA unknown (no rate yet)")
    return " · ".join(parts)
