"""Ceph's answers to "may I?": ``osd ok-to-stop`` and ``osd safe-to-destroy``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OkToStop:
    """``ceph osd ok-to-stop IDS -f json`` (rc 16 and an explanation on stderr when not ok)."""

    ok: bool
    osds: tuple[int, ...]
    num_ok_pgs: int
    num_not_ok_pgs: int
    bad_become_inactive: tuple[str, ...] = ()
    explanation: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any], explanation: str = "") -> OkToStop:
        return cls(
            ok=bool(data.get("ok_to_stop")),
            osds=tuple(data.get("osds", ())),
            num_ok_pgs=int(data.get("num_ok_pgs", 0)),
            num_not_ok_pgs=int(data.get("num_not_ok_pgs", 0)),
            bad_become_inactive=tuple(data.get("bad_become_inactive", ())),
            explanation=explanation.strip(),
        )


@dataclass(frozen=True)
class SafeToDestroy:
    """``ceph osd safe-to-destroy IDS -f json``: exits 0 even when NOT safe; read the lists."""

    safe: tuple[int, ...]
    active: tuple[int, ...]
    missing_stats: tuple[int, ...]
    stored_pgs: tuple[int, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SafeToDestroy:
        return cls(
            safe=tuple(data.get("safe_to_destroy", ())),
            active=tuple(data.get("active", ())),
            missing_stats=tuple(data.get("missing_stats", ())),
            stored_pgs=tuple(data.get("stored_pgs", ())),
        )

    def is_safe(self, osds: Iterable[int]) -> bool:
        return set(osds) <= set(self.safe)

    def reasons(self) -> list[str]:
        """Why not safe, in words close to Ceph's own."""
        out = []
        if self.active:
            out.append(f"OSD(s) {_ids(self.active)} still have PGs mapped to them")
        if self.missing_stats:
            out.append(f"OSD(s) {_ids(self.missing_stats)} have no reported stats")
        if self.stored_pgs:
            out.append(f"OSD(s) {_ids(self.stored_pgs)} still store PG data")
        return out


def _ids(ids: Iterable[int]) -> str:
    return ",".join(str(i) for i in ids)
