"""The CRUSH map as cephflow reads it: the OSD tree (hosts and their OSDs) and the rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OsdNode:
    """An OSD in the CRUSH tree."""

    id: int
    name: str
    host: str | None
    crush_weight: float
    reweight: float
    status: str
    device_class: str | None = None
    exists: bool = True

    @property
    def up(self) -> bool:
        return self.status == "up"


@dataclass(frozen=True)
class CrushHost:
    """A CRUSH host bucket and the OSDs under it."""

    id: int
    name: str
    osds: tuple[int, ...]


@dataclass(frozen=True)
class OsdTree:
    """``ceph osd tree -f json``: OSDs with their CRUSH host, and the host buckets."""

    osds: dict[int, OsdNode]
    hosts: dict[str, CrushHost]
    stray: tuple[int, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OsdTree:
        nodes = data.get("nodes") or []
        parent: dict[int, str] = {}
        hosts: dict[str, CrushHost] = {}
        for n in nodes:
            if n.get("type") == "host":
                children = tuple(sorted(c for c in n.get("children", ()) if c >= 0))
                hosts[n["name"]] = CrushHost(id=n["id"], name=n["name"], osds=children)
                for c in children:
                    parent[c] = n["name"]
        osds: dict[int, OsdNode] = {}
        for n in nodes:
            if n.get("type") == "osd":
                osds[n["id"]] = OsdNode(
                    id=n["id"],
                    name=n.get("name", f"osd.{n['id']}"),
                    host=parent.get(n["id"]),
                    crush_weight=float(n.get("crush_weight", 0.0)),
                    reweight=float(n.get("reweight", 0.0)),
                    status=n.get("status", "down"),
                    device_class=n.get("device_class"),
                    exists=bool(n.get("exists", 1)),
                )
        stray = tuple(s["id"] if isinstance(s, Mapping) else int(s) for s in data.get("stray", ()))
        return cls(osds=osds, hosts=hosts, stray=stray)

    def host_of(self, osd: int) -> str | None:
        node = self.osds.get(osd)
        return node.host if node else None

    def osds_of(self, host: str) -> list[OsdNode]:
        bucket = self.hosts.get(host)
        return [self.osds[i] for i in bucket.osds if i in self.osds] if bucket else []

    def host_weight(self, host: str) -> float:
        return sum(o.crush_weight for o in self.osds_of(host))

@dataclass(frozen=True)
class CrushRule:
    """A CRUSH rule: the failure domain its chooseleaf step spreads replicas over."""

    id: int
    name: str
    failure_domain: str | None
    root: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CrushRule:
        domain = root = None
        for step in data.get("steps", ()):
            if step.get("op") == "take":
                root = step.get("item_name")
            if step.get("op", "").startswith("choose"):
                domain = step.get("type")
        return cls(id=int(data["rule_id"]), name=data["rule_name"], failure_domain=domain, root=root)
