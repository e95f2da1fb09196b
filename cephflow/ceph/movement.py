"""What a weight change will move, before it is made: PGs, bytes, fullness after, ETA.

Pure arithmetic over answers already read (no I/O here; ``movement_tools`` runs Ceph's
``osdmaptool`` on a copy of the cluster's own OSD map and calls ``predict``). Ceph's own
CRUSH code computes both mappings, so the PGs predicted to change their up set are the PGs
Ceph will remap, not an estimate from weights.

- A PG *moves* when its up set after differs from its up set now; each OSD new to the up set
  receives one copy (replicated) or one shard (erasure coded: ``num_bytes / k``), each OSD
  that left it frees as much once the move is over.
- Fullness after: an OSD's ``osd df`` used bytes plus what it receives minus what it frees,
  against ``nearfull_ratio`` and ``backfillfull_ratio`` from ``osd dump``. An OSD that would
  pass ``backfillfull`` stalls the move (``backfill_toofull``): such a plan is refused.
- ETA: the bytes to copy over the recovery rate the cluster shows now (``ceph status``), or
  over a stated default rate when nothing is recovering.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

NONE_ITEM = 2147483647
"""CRUSH_ITEM_NONE: a hole in an erasure-coded up set (no OSD for that shard)."""

_PGID = re.compile(r"^\d+\.[0-9a-f]+$")
_UP = re.compile(r"^(?P<pgid>\d+\.[0-9a-f]+)\s+raw\s+\(\[[^\]]*\],\s*p-?\d+\)\s+"
                 r"up\s+\(\[(?P<up>[^\]]*)\],\s*p-?\d+\)")


@dataclass(frozen=True)
class WeightChange:
    """One change a runbook makes to an OSD: a new CRUSH weight, or marked out."""

    osd: int
    weight: float | None = None
    """The CRUSH weight it gets (None: unchanged)."""
    out: bool = False
    """Marked out (``ceph osd out``: reweight 0, CRUSH weight kept)."""

    def describe(self) -> str:
        parts = []
        if self.weight is not None:
            parts.append(f"weight {self.weight:g}")
        if self.out:
            parts.append("out")
        return f"osd.{self.osd} " + (" and ".join(parts) or "unchanged")

    def to_json(self) -> dict[str, Any]:
        return {"osd": self.osd, "weight": self.weight, "out": self.out}


def parse_up_sets(text: str) -> dict[str, tuple[int, ...]]:
    """pgid -> up set, from ``osdmaptool --clear-temp --test-map-pgs-dump`` (lines
    ``2.1f\t[4,1,2]\t4``: with the temporary mappings cleared, the acting set it prints is
    the up set) or ``--test-map-pgs-dump-all`` (``2.1f raw ([4,1,2], p4) up ([4,1,2], p4)
    acting ...``); other lines (pool headers, the summary table) are skipped."""
    found: dict[str, tuple[int, ...]] = {}
    for line in text.splitlines():
        if "\t[" in line:
            pgid, _, rest = line.partition("\t[")
            members = rest.partition("]")[0]
        elif " up ([" in line:
            match = _UP.match(line.strip())
            if not match:
                continue
            pgid, members = match.group("pgid"), match.group("up")
        else:
            continue
        pgid = pgid.strip()
        if not _PGID.match(pgid):
            continue
        members = members.strip()
        found[pgid] = tuple(int(o) for o in members.split(",")) if members else ()
    return found


_PG_BYTES = re.compile(r'"pgid"\s*:\s*"([^"]+)"|"num_bytes"\s*:\s*(\d+)')


def pg_bytes_from_text(text: str) -> dict[str, int] | None:
    """pgid -> ``stat_sum.num_bytes`` read straight from ``pg ls -f json`` text, or None
    when the text does not pair one ``num_bytes`` with each ``pgid`` (then parse it whole).

    The whole answer is ~2.4 KB a PG (240 MB at 100,000 PGs, ~10 s to ``json.loads`` on a
    busy 2-core machine); the prediction needs two numbers of it."""
    if '"pgid":"' in text:  # Ceph's compact JSON: split and find run at C speed
        return _compact_pg_bytes(text)
    found: dict[str, int] = {}
    pgid = None
    for match in _PG_BYTES.finditer(text):
        if match.group(1) is not None:
            if pgid is not None:
                return None  # a PG without num_bytes: not the shape this reads
            pgid = match.group(1)
        else:
            if pgid is None:
                return None
            found[pgid] = int(match.group(2))
            pgid = None
    return found if pgid is None else None


def _compact_pg_bytes(text: str) -> dict[str, int] | None:
    """The first ``num_bytes`` after each ``pgid`` and before the next one (``stat_sum``'s:
    no other key of an entry is spelled so); None when an entry has none."""
    found: dict[str, int] = {}
    key, pg_key = '"num_bytes":', '"pgid":"'
    at = text.find(pg_key)
    while at >= 0:
        start = at + len(pg_key)
        end = text.index('"', start)
        following = text.find(pg_key, end)
        value = text.find(key, end)
        if value < 0 or (0 <= following < value):
            return None
        first = last = value + len(key)
        while last < len(text) and text[last].isdigit():
            last += 1
        if last == first:
            return None
        found[text[start:end]] = int(text[first:last])
        at = following
    return found


@dataclass(frozen=True)
class PgMove:
    """A PG whose up set changes."""

    pgid: str
    before: tuple[int, ...]
    after: tuple[int, ...]
    bytes: int
    """Bytes of the PG's objects (``stat_sum.num_bytes``)."""
    shard_bytes: int
    """Bytes one OSD of the up set holds for it (a copy, or an EC shard)."""

    @property
    def gained(self) -> tuple[int, ...]:
        return tuple(o for o in self.after if o != NONE_ITEM and o not in self.before)

    @property
    def lost(self) -> tuple[int, ...]:
        return tuple(o for o in self.before if o != NONE_ITEM and o not in self.after)

    @property
    def copy_bytes(self) -> int:
        """Bytes written to new OSDs for this PG."""
        return self.shard_bytes * len(self.gained)


@dataclass(frozen=True)
class OsdFill:
    """One OSD's fullness now and once the move is over."""

    osd: int
    size: int
    """Bytes (``osd df`` kb × 1024)."""
    used: int
    used_after: int

    @property
    def ratio(self) -> float:
        return self.used / self.size if self.size else 0.0

    @property
    def ratio_after(self) -> float:
        return self.used_after / self.size if self.size else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"osd": self.osd, "size_bytes": self.size, "used_bytes": self.used,
                "used_bytes_after": self.used_after, "ratio": round(self.ratio, 6),
                "ratio_after": round(self.ratio_after, 6)}


@dataclass(frozen=True)
class Usage:
    """What ``osd df`` says of one OSD, in bytes."""

    size: int
    used: int


@dataclass
class Prediction:
    """The movement one set of weight changes causes."""

    changes: tuple[WeightChange, ...]
    pgs_total: int
    moves: tuple[PgMove, ...]
    fill: dict[int, OsdFill]
    nearfull_ratio: float
    backfillfull_ratio: float
    rate: float
    """Bytes per second the ETA assumes."""
    rate_source: str
    """``recovery`` (measured now) or ``default`` (the ``movement_rate`` setting)."""
    epoch: int = 0
    """The osdmap epoch the prediction was computed from."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pgs_moving(self) -> int:
        return len(self.moves)

    @property
    def bytes_moving(self) -> int:
        """Bytes the moving PGs hold (their objects, counted once)."""
        return sum(m.bytes for m in self.moves)

    @property
    def bytes_to_copy(self) -> int:
        """Bytes written to OSDs new to an up set: what recovery has to do."""
        return sum(m.copy_bytes for m in self.moves)

    @property
    def eta_seconds(self) -> float:
        return self.bytes_to_copy / self.rate if self.rate > 0 else 0.0

    def fullest(self, count: int = 3) -> list[OsdFill]:
        """The OSDs fullest after the move, fullest first."""
        ranked = sorted(self.fill.values(), key=lambda f: (-f.ratio_after, f.osd))
        return ranked[:count]

    def over(self, ratio: float) -> list[OsdFill]:
        """The OSDs at or past ``ratio`` after the move that receive data (an OSD already
        past it that only gives data away is no new problem of this move)."""
        return sorted((f for f in self.fill.values()
                       if f.size and f.ratio_after >= ratio and f.used_after > f.used),
                      key=lambda f: f.osd)

    @property
    def over_backfillfull(self) -> list[OsdFill]:
        return self.over(self.backfillfull_ratio)

    @property
    def over_nearfull(self) -> list[OsdFill]:
        return self.over(self.nearfull_ratio)

    def refusal(self) -> str | None:
        """Why this move must not start (an OSD would pass backfillfull), or None."""
        over = self.over_backfillfull
        if not over:
            return None
        named = ", ".join(f"osd.{f.osd} {f.ratio:.1%} -> {f.ratio_after:.1%}" for f in over)
        return (f"the move ({', '.join(c.describe() for c in self.changes)}) would take "
                f"{named} past backfillfull_ratio {self.backfillfull_ratio:.1%}: Ceph would "
                f"stop it half way (backfill_toofull); free space or add capacity first")

    def summary(self) -> str:
        """One line: ``12/33 PGs move, 4.0 MiB to copy, ETA 1s (recovery rate ...)``."""
        return (f"{self.pgs_moving}/{self.pgs_total} PGs change mapping, "
                f"{human_bytes(self.bytes_moving)} in them, {human_bytes(self.bytes_to_copy)} "
                f"to copy, ETA {human_seconds(self.eta_seconds)} at "
                f"{human_bytes(self.rate)}/s ({self.rate_source})")

    def to_json(self, *, fullest: int = 5) -> dict[str, Any]:
        """The numbers a plan carries (``plan --json``: ``discovered.movement``)."""
        return {
            "kind": "movement",
            "epoch": self.epoch,
            "changes": [c.to_json() for c in self.changes],
            "pgs_total": self.pgs_total,
            "pgs_moving": self.pgs_moving,
            "bytes_moving": self.bytes_moving,
            "bytes_to_copy": self.bytes_to_copy,
            "nearfull_ratio": self.nearfull_ratio,
            "backfillfull_ratio": self.backfillfull_ratio,
            "fullest_after": [f.to_json() for f in self.fullest(fullest)],
            "over_nearfull": [f.osd for f in self.over_nearfull],
            "over_backfillfull": [f.osd for f in self.over_backfillfull],
            "rate_bytes_per_sec": self.rate,
            "rate_source": self.rate_source,
            "eta_seconds": round(self.eta_seconds, 1),
            **self.extra,
        }


def shard_bytes(pgid: str, num_bytes: int, divisors: Mapping[int, int]) -> int:
    """What one OSD of ``pgid``'s up set holds: all of it, or 1/k of it in an EC pool."""
    return num_bytes // max(1, divisors.get(int(pgid.split(".", 1)[0]), 1))


def predict(
    changes: Iterable[WeightChange],
    before: Mapping[str, tuple[int, ...]],
    after: Mapping[str, tuple[int, ...]],
    *,
    pg_bytes: Mapping[str, int],
    usage: Mapping[int, Usage],
    nearfull_ratio: float,
    backfillfull_ratio: float,
    rate: float,
    rate_source: str,
    divisors: Mapping[int, int] | None = None,
    epoch: int = 0,
) -> Prediction:
    """The movement from mapping ``before`` to ``after`` (pgid -> up set).

    ``pg_bytes``: ``stat_sum.num_bytes`` per PG (``pg ls``); ``usage``: ``osd df`` per OSD;
    ``divisors``: pool id -> k for erasure-coded pools.
    """
    divisors = divisors or {}
    moves = []
    for pgid, up in before.items():
        new = after.get(pgid, up)
        if tuple(new) != tuple(up):
            size = int(pg_bytes.get(pgid, 0))
            moves.append(PgMove(pgid, tuple(up), tuple(new), size,
                                shard_bytes(pgid, size, divisors)))
    delta: dict[int, int] = {}
    for move in moves:
        for osd in move.gained:
            delta[osd] = delta.get(osd, 0) + move.shard_bytes
        for osd in move.lost:
            delta[osd] = delta.get(osd, 0) - move.shard_bytes
    fill = {osd: OsdFill(osd, u.size, u.used, max(0, u.used + delta.get(osd, 0)))
            for osd, u in usage.items()}
    return Prediction(changes=tuple(changes), pgs_total=len(before), moves=tuple(moves),
                      fill=fill, nearfull_ratio=nearfull_ratio,
                      backfillfull_ratio=backfillfull_ratio, rate=rate,
                      rate_source=rate_source, epoch=epoch)


def human_bytes(value: float) -> str:
    """``4.0 MiB``: binary units, one decimal."""
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"  # pragma: no cover - the loop returns at TiB


def human_seconds(seconds: float) -> str:
    """``45s``, ``12m``, ``3h05m``: an ETA's precision."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m"
