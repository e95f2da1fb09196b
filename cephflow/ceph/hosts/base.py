"""The one small interface every way of deploying Ceph implements for host-level actions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

from cephflow.errors import CephError


@dataclass(frozen=True)
class DeviceInfo:
    """What a datacentre technician needs to find a disk: host, slot/path, model, serial."""

    host: str
    osd: int
    device: str | None = None
    path: str | None = None
    model: str | None = None
    serial: str | None = None
    db: str | None = None
    """The OSD's separate DB/WAL volume (``vg/lv`` or a partition), when it has one."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def device_word(host: str, device: str) -> str:
    """``device`` as one argument of a disk command; CephError for a value that is not one.

    Devices reach ``ceph-volume`` and ``ceph orch`` as argv words, never through a shell; a
    word that starts with ``-`` would still be read as an option there (``--osd-id 3``
    instead of a disk), and these commands wipe disks.
    """
    if not device or device.startswith("-") or any(c.isspace() or c == "\0" for c in device):
        raise CephError(f"{host}: {device!r} is not a device path")
    return device


class HostOps(Protocol):
    """Daemon and disk actions on the host an OSD lives on."""

    name: str

    def stop_osd(self, host: str, osd: int) -> None:
        """Stop the OSD's daemon (idempotent: a stopped daemon stays stopped)."""

    def start_osd(self, host: str, osd: int) -> None:
        """Start the OSD's daemon (idempotent)."""

    def osd_running(self, host: str, osd: int) -> bool:
        """Whether the OSD's daemon runs on its host."""

    def zap(self, host: str, osd: int, device: str | None, db: str | None = None) -> None:
        """Wipe the OSD's device so it can be re-used (the daemon must be stopped); a DB/WAL
        volume ``db`` is wiped but kept, for the replacement to use again."""

    def create_osd(self, host: str, device: str | None, osd: int | None,
                   db: str | None = None) -> int:
        """Create an OSD on ``device`` (with its DB/WAL on ``db``), re-using id ``osd`` when
        given; returns its id."""

    def device_info(self, host: str, osd: int) -> DeviceInfo | None:
        """Facts about the OSD's disk the host knows and Ceph does not, or None."""
