"""Typed views of the JSON that Ceph prints: pure data and pure behaviour, no I/O.

Every ``from_json`` takes what ``json.loads`` made of a ``ceph ... -f json`` answer (shapes as
Ceph 16 Pacific prints them; the fixtures under tests/ceph/data were captured from the lab)
and keeps only what cephflow decides on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

HEALTH_ORDER = {"HEALTH_OK": 0, "HEALTH_WARN": 1, "HEALTH_ERR": 2}


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
    right after a change (see ``PgList.settled_since``).
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

    @property
    def clean(self) -> bool:
        return self.state == "active+clean"


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
        the PGs it moved report at E or later while untouched PGs keep older epochs: once any
        PG reported at E, the PG states reflect the change.
        """
        return max((p.reported_epoch for p in self.pgs), default=0)

    def reflects(self, epoch: int) -> bool:
        """Some PG has reported at ``epoch`` or later (the change has reached the PG stats)."""
        return self.max_reported_epoch >= epoch

    def on_osd(self, osd: int) -> list[PgState]:
        return [p for p in self.pgs if osd in p.up or osd in p.acting]

    def by_state(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.pgs:
            counts[p.state] = counts.get(p.state, 0) + 1
        return counts


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
class OsdUsage:
    """One OSD of ``ceph osd df -f json``."""

    id: int
    crush_weight: float
    reweight: float
    kb: int
    kb_used: int
    utilization: float
    pgs: int
    status: str


def parse_osd_df(data: Mapping[str, Any]) -> dict[int, OsdUsage]:
    """``ceph osd df [tree] -f json`` -> OSD id -> usage (root and host rows skipped)."""
    return {
        n["id"]: OsdUsage(
            id=n["id"],
            crush_weight=float(n.get("crush_weight", 0.0)),
            reweight=float(n.get("reweight", 0.0)),
            kb=int(n.get("kb", 0)),
            kb_used=int(n.get("kb_used", 0)),
            utilization=float(n.get("utilization", 0.0)),
            pgs=int(n.get("pgs", 0)),
            status=n.get("status", ""),
        )
        for n in data.get("nodes", ())
        if n.get("type", "osd") == "osd" and n.get("id", -1) >= 0
    }


def _pairs(text: str) -> dict[str, str]:
    """``"sdb=ATA_X_1,sdc=ATA_Y_2"`` -> ``{"sdb": "ATA_X_1", "sdc": "ATA_Y_2"}``."""
    result: dict[str, str] = {}
    for part in (text or "").split(","):
        if "=" in part:
            key, value = part.split("=", 1)
            result[key.strip()] = value.strip()
    return result


@dataclass(frozen=True)
class OsdMetadata:
    """``ceph osd metadata ID -f json``: where an OSD runs and which disk it sits on.

    ``devices`` are kernel names (``sdb``); ``device_ids`` map them to ``VENDOR_MODEL_SERIAL``
    (what the devicehealth module tracks), ``device_paths`` to stable ``/dev/disk/by-path``
    names. A memstore OSD (the lab) has none of them.
    """

    id: int
    hostname: str
    objectstore: str
    osd_data: str
    devices: tuple[str, ...] = ()
    device_ids: dict[str, str] = field(default_factory=dict)
    device_paths: dict[str, str] = field(default_factory=dict)
    bdev_node: str | None = None
    rotational: bool | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OsdMetadata:
        devices = tuple(d for d in (data.get("devices") or "").split(",") if d)
        rotational = data.get("rotational")
        return cls(
            id=int(data.get("id", -1)),
            hostname=data.get("hostname", ""),
            objectstore=data.get("osd_objectstore", ""),
            osd_data=data.get("osd_data", ""),
            devices=devices,
            device_ids=_pairs(data.get("device_ids", "")),
            device_paths=_pairs(data.get("device_paths", "")),
            bdev_node=data.get("bluestore_bdev_dev_node") or None,
            rotational=None if rotational is None else rotational == "1",
        )

    @property
    def device(self) -> str | None:
        """The data device's path (``/dev/sdb``), or None when Ceph does not know one."""
        if self.devices:
            return f"/dev/{self.devices[0]}"
        return self.bdev_node

    @property
    def device_path(self) -> str | None:
        """A stable path of the data device (``/dev/disk/by-path/...``), if Ceph reports one."""
        return self.device_paths.get(self.devices[0]) if self.devices else None

    @property
    def device_id(self) -> str | None:
        return self.device_ids.get(self.devices[0]) if self.devices else None

    @property
    def model(self) -> str | None:
        """Model from ``VENDOR_MODEL_SERIAL`` (the last ``_`` separates the serial)."""
        ident = self.device_id
        if not ident or "_" not in ident:
            return None
        return ident.rsplit("_", 1)[0].replace("_", " ")

    @property
    def serial(self) -> str | None:
        ident = self.device_id
        if not ident:
            return None
        return ident.rsplit("_", 1)[-1]


@dataclass(frozen=True)
class OsdState:
    """One OSD of ``ceph osd dump -f json``: up/in and its state flags (``noout``, ``destroyed``)."""

    id: int
    uuid: str
    up: bool
    in_: bool
    weight: float
    state: frozenset[str]

    @property
    def destroyed(self) -> bool:
        return "destroyed" in self.state

    @property
    def noout(self) -> bool:
        return "noout" in self.state


@dataclass(frozen=True)
class Pool:
    """A pool's replication as the drain checks need it."""

    id: int
    name: str
    size: int
    min_size: int
    crush_rule: int


@dataclass(frozen=True)
class OsdDump:
    """``ceph osd dump -f json``: the osdmap epoch, cluster flags, OSD states and pools."""

    epoch: int
    flags: frozenset[str]
    osds: dict[int, OsdState]
    pools: dict[str, Pool]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OsdDump:
        flags = data.get("flags_set")
        if flags is None:
            flags = [f for f in (data.get("flags") or "").split(",") if f]
        osds = {
            o["osd"]: OsdState(
                id=o["osd"],
                uuid=o.get("uuid", ""),
                up=bool(o.get("up")),
                in_=bool(o.get("in")),
                weight=float(o.get("weight", 0.0)),
                state=frozenset(o.get("state", ())),
            )
            for o in data.get("osds", ())
        }
        pools = {
            p["pool_name"]: Pool(
                id=p["pool"],
                name=p["pool_name"],
                size=int(p["size"]),
                min_size=int(p["min_size"]),
                crush_rule=int(p.get("crush_rule", 0)),
            )
            for p in data.get("pools", ())
        }
        return cls(epoch=int(data.get("epoch", 0)), flags=frozenset(flags), osds=osds, pools=pools)

    def exists(self, osd: int) -> bool:
        return osd in self.osds


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
