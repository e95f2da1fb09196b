"""Pacing on several signals: may the next weight step be taken, and if not, which signal holds it.

Pure: built from what one check read (``pg ls``, ``osd dump``, and when their caps ask for
them ``osd df`` and ``osd perf``) and the caps in force. ``ceph.reweight`` and the batch moves
(drain a host, fill a host) share this rule through ``cephflow.tasks.ceph.pace``, so their
waits read the same: "waiting: 34 PGs backfilling > 20".

What a cap bounds: it gates the next step. A step is taken only while every signal is at or
under its cap; the movement one step starts is Ceph's to schedule (``osd_max_backfills``), so
right after a step more PGs may backfill than the cap. A hard bound on concurrent backfills
needs upmap-based movement (as pgremapper does), which cephflow does not do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from cephflow.ceph.models import OsdDump, OsdLatency, OsdUsage, PgList
from cephflow.settings import PacingSettings

MOVEMENT = "movement"
"""The key of a node's progress (``NodeSnapshot.progress``) that holds a weight move's
progress: ``osds`` (id -> weight, target, start), ``misplaced_objects``,
``degraded_objects``, ``rate``, ``eta_seconds``, ``waiting``, ``signals``, ``caps``."""

BACKFILL_WORDS = frozenset({"backfilling", "backfill_wait"})
"""PG state words counted as backfilling: moving now, or queued to (``osd_max_backfills``)."""


@dataclass(frozen=True)
class Caps:
    """The caps a step waits under. ``paced`` False: none is checked (a dead OSD's data is
    degraded already; waiting for backfill would only delay its recovery)."""

    max_misplaced: float = 0.01
    max_backfilling: int = 20
    max_nearfull: int = 0
    max_commit_latency_ms: float = 0.0
    """0: latency is neither read nor checked."""
    paced: bool = True

    @classmethod
    def of(cls, defaults: PacingSettings, *, paced: bool = True, **given: float | int | None) -> Caps:
        """Caps from ``defaults`` (the ``[pacing]`` settings) with each value ``given`` that
        is not None in its place: a value on the step (a runbook param) wins."""
        names = ("max_misplaced", "max_backfilling", "max_nearfull", "max_commit_latency_ms")
        unknown = set(given) - set(names)
        if unknown:
            raise TypeError(f"unknown caps: {', '.join(sorted(unknown))}")
        values = {n: given[n] if given.get(n) is not None else getattr(defaults, n) for n in names}
        for name, value in values.items():
            if value < 0:
                raise ValueError(f"{name} is negative: {value}")
        return cls(max_misplaced=float(values["max_misplaced"]),
                   max_backfilling=int(values["max_backfilling"]),
                   max_nearfull=int(values["max_nearfull"]),
                   max_commit_latency_ms=float(values["max_commit_latency_ms"]), paced=paced)

    @property
    def wants_usage(self) -> bool:
        """Does a check need ``osd df`` (nearfull OSDs)?"""
        return self.paced

    @property
    def wants_latency(self) -> bool:
        """Does a check need ``osd perf`` (commit latency)?"""
        return self.paced and self.max_commit_latency_ms > 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Signals:
    """What one check read of the signals a step waits on."""

    misplaced_ratio: float = 0.0
    misplaced_objects: int = 0
    degraded_objects: int = 0
    backfilling: int = 0
    nearfull: dict[int, float] = field(default_factory=dict)
    """OSD -> utilisation (%) of the OSDs at or over the osdmap's ``nearfull_ratio``."""
    commit_latency_ms: dict[int, float] = field(default_factory=dict)
    """OSD -> commit latency (ms); empty when not read."""

    @classmethod
    def read(cls, pgs: PgList, dump: OsdDump, usage: Mapping[int, OsdUsage] | None = None,
             perf: Mapping[int, OsdLatency] | None = None) -> Signals:
        nearfull = {
            i: u.utilization for i, u in sorted((usage or {}).items())
            if u.kb > 0 and u.utilization / 100 >= dump.nearfull_ratio
        }
        return cls(
            misplaced_ratio=pgs.misplaced_ratio,
            misplaced_objects=sum(p.misplaced for p in pgs.pgs),
            degraded_objects=sum(p.degraded for p in pgs.pgs),
            backfilling=sum(1 for p in pgs.pgs if p.words & BACKFILL_WORDS),
            nearfull=nearfull,
            commit_latency_ms={i: p.commit_latency_ms for i, p in sorted((perf or {}).items())},
        )

    @property
    def objects_left(self) -> int:
        """Misplaced and degraded object copies still to move or rebuild."""
        return self.misplaced_objects + self.degraded_objects

    def to_json(self) -> dict[str, Any]:
        return {
            "misplaced_ratio": self.misplaced_ratio, "misplaced_objects": self.misplaced_objects,
            "degraded_objects": self.degraded_objects, "backfilling": self.backfilling,
            "nearfull": {str(i): u for i, u in self.nearfull.items()},
            "commit_latency_ms": {str(i): ms for i, ms in self.commit_latency_ms.items()},
        }


def held_back(signals: Signals, caps: Caps, *, stepping: bool = True) -> list[str]:
    """The signals over their caps, in words ("34 PGs backfilling > 20"); empty: go on.

    ``stepping`` False (the move is at its target and only waits to report done): only the
    misplaced objects its own last step left count; the other caps gate steps alone.
    """
    if not caps.paced:
        return []
    out = []
    if signals.misplaced_ratio > caps.max_misplaced:
        out.append(f"{_pct(signals.misplaced_ratio)} misplaced > {_pct(caps.max_misplaced)}")
    if not stepping:
        return out
    if signals.backfilling > caps.max_backfilling:
        out.append(f"{_pgs(signals.backfilling)} backfilling > {caps.max_backfilling}")
    if len(signals.nearfull) > caps.max_nearfull:
        named = ", ".join(f"osd.{i} {u:.0f}%" for i, u in signals.nearfull.items())
        n = len(signals.nearfull)
        out.append(f"{n} OSD{'s' if n != 1 else ''} nearfull > {caps.max_nearfull} ({named})")
    if caps.wants_latency and signals.commit_latency_ms:
        osd, ms = max(signals.commit_latency_ms.items(), key=lambda item: (item[1], -item[0]))
        if ms > caps.max_commit_latency_ms:
            out.append(f"commit latency {ms:g} ms on osd.{osd} > {caps.max_commit_latency_ms:g} ms")
    return out


@dataclass(frozen=True)
class Rate:
    """The measured recovery rate (object copies per second), smoothed over checks."""

    per_second: float | None = None
    at: float | None = None
    objects: int | None = None

    def after(self, now: float, objects: int) -> Rate:
        """The rate once a check at ``now`` saw ``objects`` left.

        Only a fall counts: more objects left than before means a new step added work, which
        says nothing about how fast Ceph moves it; the measurement starts again from there.
        """
        if self.at is None or self.objects is None or now <= self.at or objects > self.objects:
            return Rate(self.per_second, now, objects)
        if objects == self.objects and now - self.at < 5.0:
            return self  # the mgr's stats had not moved yet: measure over a longer time
        measured = (self.objects - objects) / (now - self.at)
        smoothed = measured if self.per_second is None else 0.5 * self.per_second + 0.5 * measured
        return Rate(smoothed, now, objects)

    def eta(self, objects: int) -> float | None:
        """Seconds to move ``objects`` at this rate; None while no rate is measured."""
        if objects == 0:
            return 0.0
        if not self.per_second or self.per_second <= 0 or math.isnan(self.per_second):
            return None
        return objects / self.per_second

    def to_json(self) -> list[float | int | None]:
        return [self.per_second, self.at, self.objects]

    @classmethod
    def from_json(cls, data: Any) -> Rate:
        if not isinstance(data, list) or len(data) != 3:
            return cls()
        return cls(*data)


def _pgs(n: int) -> str:
    return f"{n} PG" if n == 1 else f"{n} PGs"


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"


def movement_of(progress: dict[str, Any] | None) -> dict[str, Any] | None:
    """The weight move's progress of a node's progress (``MOVEMENT``), if it has one."""
    found = (progress or {}).get(MOVEMENT)
    return found if isinstance(found, dict) else None
