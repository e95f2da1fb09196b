"""Why a wait is not over yet, in words an operator can act on.

Pure: built from what one check read (``pg ls``, ``osd dump``, ``health detail``) and the
flags this workflow owns. Both the gentle reweight and ``wait_healthy`` describe their waits
here, so a flag set by someone else, a full OSD or a peering PG reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cephflow.ceph.models import Health, OsdDump, PgList

FLAG_EFFECTS = {
    "noout": "down OSDs are not marked out and health stays HEALTH_WARN until it is unset",
    "norebalance": "data will not move until it is unset",
    "nobackfill": "backfill will not run until it is unset",
    "norecover": "recovery will not run until it is unset",
    "pause": "client I/O is stopped until it is unset",
}
"""The flags that change what a wait waits for, and what each does to it."""

MOVEMENT_FLAGS = frozenset({"norebalance", "nobackfill", "pause"})
"""Flags that keep misplaced objects from draining: a reweight waits for nothing while set."""


def cluster_flags(dump: OsdDump) -> frozenset[str]:
    """The flags of FLAG_EFFECTS set in the osdmap (``pause`` shows as pauserd,pausewr)."""
    flags = set(dump.flags) & set(FLAG_EFFECTS)
    if {"pauserd", "pausewr"} & dump.flags:
        flags.add("pause")
    return frozenset(flags)


def flag_reasons(dump: OsdDump, ours: Iterable[str], only: Iterable[str] | None = None) -> list[str]:
    """"norebalance set by someone else: data will not move until it is unset"."""
    mine = set(ours)
    wanted = set(only) if only is not None else set(FLAG_EFFECTS)
    return [
        f"{flag} set by {'this workflow' if flag in mine else 'someone else'}: {FLAG_EFFECTS[flag]}"
        for flag in sorted(cluster_flags(dump) & wanted)
    ]


def toofull_reasons(pgs: PgList) -> list[str]:
    """"3 PGs backfill_toofull on osd.5", one line per target OSD that has no room, most first.

    The targets of a PG are the OSDs in its up set but not in its acting set.
    """
    out = []
    for word in ("backfill_toofull", "recovery_toofull"):
        per_osd: dict[int, int] = {}
        for p in pgs.pgs:
            if word in p.words:
                for osd in p.backfill_targets or (-1,):
                    per_osd[osd] = per_osd.get(osd, 0) + 1
        for osd, n in sorted(per_osd.items(), key=lambda item: (-item[1], item[0])):
            out.append(f"{_pgs(n)} {word}" + (f" on osd.{osd}" if osd >= 0 else ""))
    return out


def unsettled_reasons(pgs: PgList, dump: OsdDump) -> list[str]:
    """"13 PGs peering", "4 PGs remapped by the osdmap not yet in the PG stats"."""
    counts: dict[str, int] = {}
    missing = 0
    for item in pgs.unsettled(dump.pg_temp):
        if isinstance(item, str) or not item.transient:
            missing += 1
        else:
            counts[item.state] = counts.get(item.state, 0) + 1
    out = [f"{_pgs(n)} {state}" for state, n in sorted(counts.items())]
    if missing:
        out.append(f"{_pgs(missing)} remapped by the osdmap not yet in the PG stats")
    return out


def inactive_reasons(pgs: PgList) -> list[str]:
    """PGs that serve no I/O for a reason other than peering (down, incomplete, stale...)."""
    counts: dict[str, int] = {}
    for p in pgs.pgs:
        if not p.active and not p.transient:
            counts[p.state] = counts.get(p.state, 0) + 1
    return [f"{_pgs(n)} {state} (inactive)" for state, n in sorted(counts.items())]


def down_reasons(dump: OsdDump) -> list[str]:
    """"osd.4 down and in: ..." for each OSD that is down but still in (not destroyed)."""
    down = sorted(i for i, s in dump.osds.items() if not s.up and s.in_ and not s.destroyed)
    return [f"osd.{i} down and in: its PGs are degraded and recover first" for i in down]


def health_reasons(health: Health, tolerated: Iterable[str], explained: Iterable[str] = ()) -> list[str]:
    """Blocking health checks by code and summary, less those already said in other words."""
    skip = set(explained)
    return [str(c) for c in health.blocking(tolerated) if c.code not in skip]


@dataclass(frozen=True)
class Why:
    """What one check found: ``blocking`` keeps the wait going, ``context`` says why it lasts."""

    blocking: tuple[str, ...] = ()
    context: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.blocking)

    def __str__(self) -> str:
        return "; ".join(self.blocking + self.context)


def why_not_moving_on(
    pgs: PgList, dump: OsdDump, *, ours: Iterable[str], max_misplaced: float
) -> Why:
    """Why a gentle reweight may not take its next step (or report done) yet.

    Blocking: PGs whose stats are not final (peering, or remapped by the osdmap but not yet
    in the stats), inactive PGs, misplaced objects above ``max_misplaced``. Context: what
    keeps the data from moving (a movement flag, full targets, an OSD down).
    """
    blocking = unsettled_reasons(pgs, dump) + inactive_reasons(pgs)
    ratio = pgs.misplaced_ratio
    if ratio > max_misplaced:
        blocking.append(f"{_pct(ratio)} misplaced (at most {_pct(max_misplaced)} before a step)")
    context = flag_reasons(dump, ours, MOVEMENT_FLAGS) + toofull_reasons(pgs) + down_reasons(dump)
    return Why(tuple(blocking), tuple(context))


def why_not_healthy(
    pgs: PgList, dump: OsdDump, health: Health, *, ours: Iterable[str], tolerated: Iterable[str]
) -> Why:
    """Why the cluster is not healthy yet: unsettled stats, PG states, health checks.

    A blocking OSDMAP_FLAGS is named by the flags someone else set, with their effect; the
    other checks keep their code and Ceph's summary. A movement flag of someone else that a
    tolerated OSDMAP_FLAGS hides is still named, as the reason misplaced data does not drain.
    """
    mine = set(ours)
    blocking = unsettled_reasons(pgs, dump)
    states: dict[str, int] = {}
    for p in pgs.pgs:
        if not p.clean and not p.transient:
            states[p.state] = states.get(p.state, 0) + 1
    blocking += [f"{_pgs(n)} {state}" for state, n in sorted(states.items())]
    foreign = cluster_flags(dump) - mine
    flags_block = foreign and any(c.code == "OSDMAP_FLAGS" for c in health.blocking(tolerated))
    if flags_block:
        blocking += flag_reasons(dump, mine, foreign)
    blocking += health_reasons(health, tolerated, explained=("OSDMAP_FLAGS",) if flags_block else ())
    context = [] if flags_block or not blocking else flag_reasons(dump, mine, foreign & MOVEMENT_FLAGS)
    return Why(tuple(blocking), tuple(context + toofull_reasons(pgs)))


def _pgs(n: int) -> str:
    return f"{n} PG" if n == 1 else f"{n} PGs"


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"
