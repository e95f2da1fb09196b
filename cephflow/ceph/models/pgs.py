"""``ceph pg ls``: every PG with its state, and what a change has (not yet) moved."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TRANSIENT = frozenset({"peering", "activating", "unknown", "creating"})
"""State words of a PG whose stats are not final yet: a PG still peering reports 0 misplaced."""


@dataclass(frozen=True)
class PgState:
    """One PG of ``ceph pg ls -f json``."""

    pgid: str
    state: str
    reported_epoch: int
    up: tuple[int, ...]
    acting: tuple[int, ...]
    object_copies: int = 0
    misplaced: int = 0
    degraded: int = 0
    bytes: int = 0
    """Bytes of one copy of the PG's objects (``stat_sum.num_bytes``)."""

    @property
    def clean(self) -> bool:
        return self.state == "active+clean"

    @property
    def words(self) -> frozenset[str]:
        """``"active+remapped+backfill_wait"`` -> {active, remapped, backfill_wait}."""
        return frozenset(self.state.split("+"))

    @property
    def transient(self) -> bool:
        """Peering, activating, unknown or being created: its counts will still change."""
        return bool(self.words & TRANSIENT)

    @property
    def active(self) -> bool:
        """Serving I/O, by stats that are not stale."""
        return "active" in self.words and "stale" not in self.words

    @property
    def remapped(self) -> bool:
        """The stats know that the PG is served by other OSDs than CRUSH wants (up != acting)."""
        return self.up != self.acting

    @property
    def backfill_targets(self) -> tuple[int, ...]:
        """OSDs the PG is moving to: in its up set, not (yet) in its acting set."""
        return tuple(o for o in self.up if o >= 0 and o not in self.acting)


@dataclass(frozen=True)
class PgList:
    """``ceph pg ls -f json``: every PG with its state and the epoch its primary reported at."""

    pgs: tuple[PgState, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | list[Any]) -> PgList:
        stats = data.get("pg_stats", []) if isinstance(data, Mapping) else data
        return cls(
            tuple(
                PgState(
                    pgid=p["pgid"],
                    state=p["state"],
                    reported_epoch=int(p.get("reported_epoch", 0)),
                    up=tuple(p.get("up", ())),
                    acting=tuple(p.get("acting", ())),
                    object_copies=int((p.get("stat_sum") or {}).get("num_object_copies", 0)),
                    misplaced=int((p.get("stat_sum") or {}).get("num_objects_misplaced", 0)),
                    degraded=int((p.get("stat_sum") or {}).get("num_objects_degraded", 0)),
                    bytes=int((p.get("stat_sum") or {}).get("num_bytes", 0)),
                )
                for p in stats
            )
        )

    @property
    def misplaced_ratio(self) -> float:
        """Misplaced object copies over all copies (what ``ceph status`` shows, but fresh)."""
        copies = sum(p.object_copies for p in self.pgs)
        return sum(p.misplaced for p in self.pgs) / copies if copies else 0.0

    @property
    def degraded_ratio(self) -> float:
        copies = sum(p.object_copies for p in self.pgs)
        return sum(p.degraded for p in self.pgs) / copies if copies else 0.0

    def not_clean(self) -> list[PgState]:
        return [p for p in self.pgs if not p.clean]

    def stale_before(self, epoch: int) -> list[PgState]:
        """PGs whose last report predates ``epoch``: their state says nothing about the change."""
        return [p for p in self.pgs if p.reported_epoch < epoch]

    @property
    def max_reported_epoch(self) -> int:
        """The newest osdmap epoch any PG reported at.

        A PG re-reports only when something about it changes, so after a change at epoch E
        the PGs it moved report at E or later while untouched PGs keep older epochs. One PG
        at E says the change has reached the stats, not that they show all of it: PGs still
        peering report 0 misplaced, and others may not have reported yet (see ``unsettled``).
        """
        return max((p.reported_epoch for p in self.pgs), default=0)

    def reflects(self, epoch: int) -> bool:
        """Some PG has reported at ``epoch`` or later (the change has begun to reach the stats)."""
        return self.max_reported_epoch >= epoch

    def unsettled(self, pg_temp: Iterable[str] = ()) -> list[PgState | str]:
        """What keeps these stats from showing the cluster as it is now.

        PGs in a transient state (their misplaced count is not known yet), and pgids the
        osdmap remaps (``pg_temp``, fresh) that the stats do not show as remapped (stale, or
        not reported at all). Empty once the stats and the osdmap agree.
        """
        by_id = {p.pgid: p for p in self.pgs}
        out: list[PgState | str] = [p for p in self.pgs if p.transient]
        for pgid in pg_temp:
            pg = by_id.get(pgid)
            if pg is None:
                out.append(pgid)
            elif not pg.transient and not pg.remapped:
                out.append(pg)
        return out

    def on_osd(self, osd: int) -> list[PgState]:
        return [p for p in self.pgs if osd in p.up or osd in p.acting]

    def by_state(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.pgs:
            counts[p.state] = counts.get(p.state, 0) + 1
        return counts
