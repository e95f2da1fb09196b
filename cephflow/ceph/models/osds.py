"""The OSDs: ``osd dump`` (in/up/flags, pools), ``osd df`` usage and ``osd metadata``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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
    """``ceph osd dump -f json``: the osdmap epoch, cluster flags, OSD states and pools.

    ``pg_temp`` is the osdmap's own list of remapped PGs (pgid -> the OSDs serving it while
    backfill runs). It is as fresh as the epoch, unlike the PG stats, so a PG listed here
    that the stats do not show as remapped means the stats have not caught up yet.
    """

    epoch: int
    flags: frozenset[str]
    osds: dict[int, OsdState]
    pools: dict[str, Pool]
    nearfull_ratio: float = 0.85
    backfillfull_ratio: float = 0.90
    full_ratio: float = 0.95
    pg_temp: dict[str, tuple[int, ...]] = field(default_factory=dict)

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
        pg_temp = {t["pgid"]: tuple(t.get("osds", ())) for t in data.get("pg_temp") or ()}
        return cls(
            epoch=int(data.get("epoch", 0)), flags=frozenset(flags), osds=osds, pools=pools,
            nearfull_ratio=float(data.get("nearfull_ratio", 0.85)),
            backfillfull_ratio=float(data.get("backfillfull_ratio", 0.90)),
            full_ratio=float(data.get("full_ratio", 0.95)),
            pg_temp=pg_temp,
        )

    def exists(self, osd: int) -> bool:
        return osd in self.osds
