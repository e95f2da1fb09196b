"""``ceph status`` and ``ceph health``: the cluster's health checks, osdmap counts and PG summary.

The PG summary here comes from the pgmap, which lags; ``pgs.PgList`` is the fresh view.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

HEALTH_ORDER = {"HEALTH_OK": 0, "HEALTH_WARN": 1, "HEALTH_ERR": 2}


_OSD_NAME = re.compile(r"\bosd\.(\d+)\b")


def osds_named(text: str) -> frozenset[int]:
    """The OSD ids a line of Ceph's text names (``osd.5 (root=default,host=c) is down``)."""
    return frozenset(int(m) for m in _OSD_NAME.findall(text))


@dataclass(frozen=True)
class HealthCheck:
    """One health check (``OSD_DOWN``, ``OSDMAP_FLAGS``...) with its summary and details."""

    code: str
    severity: str
    message: str
    count: int = 0
    details: tuple[str, ...] = ()
    muted: bool = False

    @classmethod
    def from_json(cls, code: str, data: Mapping[str, Any]) -> HealthCheck:
        summary = data.get("summary") or {}
        return cls(
            code=code,
            severity=data.get("severity", "HEALTH_WARN"),
            message=summary.get("message", ""),
            count=int(summary.get("count", 0) or 0),
            details=tuple(d.get("message", "") for d in data.get("detail") or ()),
            muted=bool(data.get("muted", False)),
        )

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    @property
    def osds(self) -> frozenset[int]:
        """The OSDs its detail lines name (``osd.5 ... is down``, ``... (osd.12) ...``)."""
        return frozenset().union(*(osds_named(line) for line in self.details))


@dataclass(frozen=True)
class Health:
    """``ceph health [detail] -f json``: the overall status and each check."""

    status: str
    checks: dict[str, HealthCheck] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Health:
        checks = {
            code: HealthCheck.from_json(code, body)
            for code, body in sorted((data.get("checks") or {}).items())
        }
        return cls(status=data.get("status", "HEALTH_ERR"), checks=checks)

    @property
    def ok(self) -> bool:
        return self.status == "HEALTH_OK"

    def blocking(self, tolerated: Iterable[str] = ()) -> list[HealthCheck]:
        """The checks that are neither tolerated nor muted: what keeps it from being healthy."""
        allowed = set(tolerated)
        return [c for c in self.checks.values() if c.code not in allowed and not c.muted]

    def summary(self) -> str:
        if not self.checks:
            return self.status
        return f"{self.status}: " + "; ".join(str(c) for c in self.checks.values())


@dataclass(frozen=True)
class PgSummary:
    """The ``pgmap`` of ``ceph status``: PG counts by state, misplaced and degraded objects."""

    num_pgs: int
    by_state: dict[str, int]
    num_objects: int = 0
    misplaced_objects: int = 0
    misplaced_total: int = 0
    misplaced_ratio: float = 0.0
    degraded_objects: int = 0
    degraded_ratio: float = 0.0
    inactive_ratio: float = 0.0

    @classmethod
    def from_json(cls, pgmap: Mapping[str, Any]) -> PgSummary:
        return cls(
            num_pgs=int(pgmap.get("num_pgs", 0)),
            by_state={s["state_name"]: int(s["count"]) for s in pgmap.get("pgs_by_state", ())},
            num_objects=int(pgmap.get("num_objects", 0)),
            misplaced_objects=int(pgmap.get("misplaced_objects", 0)),
            misplaced_total=int(pgmap.get("misplaced_total", 0)),
            misplaced_ratio=float(pgmap.get("misplaced_ratio", 0.0)),
            degraded_objects=int(pgmap.get("degraded_objects", 0)),
            degraded_ratio=float(pgmap.get("degraded_ratio", 0.0)),
            inactive_ratio=float(pgmap.get("inactive_pgs_ratio", 0.0)),
        )

    @property
    def active_clean(self) -> int:
        return self.by_state.get("active+clean", 0)

    @property
    def all_clean(self) -> bool:
        return self.num_pgs > 0 and self.active_clean == self.num_pgs


@dataclass(frozen=True)
class ClusterStatus:
    """``ceph status -f json``: health, the osdmap epoch and counts, and the PG summary.

    The pgmap part lags the osdmap by about two seconds: never conclude "clean" from it alone
    right after a change (see ``cephflow.tasks.ceph.common.settled``).
    """

    fsid: str
    health: Health
    epoch: int
    num_osds: int
    num_up: int
    num_in: int
    num_remapped_pgs: int
    pgs: PgSummary

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClusterStatus:
        osdmap = data.get("osdmap") or {}
        return cls(
            fsid=data.get("fsid", ""),
            health=Health.from_json(data.get("health") or {}),
            epoch=int(osdmap.get("epoch", 0)),
            num_osds=int(osdmap.get("num_osds", 0)),
            num_up=int(osdmap.get("num_up_osds", 0)),
            num_in=int(osdmap.get("num_in_osds", 0)),
            num_remapped_pgs=int(osdmap.get("num_remapped_pgs", 0)),
            pgs=PgSummary.from_json(data.get("pgmap") or {}),
        )
