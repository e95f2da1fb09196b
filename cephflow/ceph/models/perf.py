"""``ceph osd perf``: each OSD's commit and apply latency, as the mgr last heard it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OsdLatency:
    """One OSD of ``ceph osd perf -f json`` (milliseconds)."""

    id: int
    commit_latency_ms: float
    apply_latency_ms: float


def parse_osd_perf(data: Mapping[str, Any]) -> dict[int, OsdLatency]:
    """``ceph osd perf -f json`` -> OSD id -> latency.

    Pacific nests the list under ``osdstats`` (``{"osdstats": {"osd_perf_infos": [...]}}``);
    older releases print ``{"osd_perf_infos": [...]}``. Both are read.
    """
    infos = (data.get("osdstats") or data).get("osd_perf_infos") or ()
    out = {}
    for info in infos:
        stats = info.get("perf_stats") or {}
        osd = int(info["id"])
        out[osd] = OsdLatency(id=osd, commit_latency_ms=float(stats.get("commit_latency_ms", 0)),
                              apply_latency_ms=float(stats.get("apply_latency_ms", 0)))
    return out
