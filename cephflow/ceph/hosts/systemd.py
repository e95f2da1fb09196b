"""Package-installed Ceph: systemd units and ``ceph-volume`` on each host, over SSH.

Each OSD host is reached with its own ``SshRunner`` (same user, key and known_hosts as the
admin host); commands are argv lists, e.g. ``systemctl stop ceph-osd@12``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from cephflow.ceph.access import ssh_runner
from cephflow.ceph.command_runner import CommandRunner
from cephflow.ceph.hosts.base import DeviceInfo, device_word
from cephflow.errors import CephError
from cephflow.settings import CephSettings


class SystemdHosts:
    """Host operations with systemctl and ceph-volume, one runner per host."""

    name = "ssh"

    def __init__(self, runner_for: Callable[[str], CommandRunner]):
        self._runner_for = runner_for
        self._runners: dict[str, CommandRunner] = {}

    @classmethod
    def from_settings(cls, ceph: CephSettings) -> SystemdHosts:
        return cls(functools.partial(ssh_runner, ceph=ceph))

    def _on(self, host: str) -> CommandRunner:
        if host not in self._runners:
            self._runners[host] = self._runner_for(host)
        return self._runners[host]

    def stop_osd(self, host: str, osd: int) -> None:
        self._on(host).run(["systemctl", "stop", f"ceph-osd@{osd}"]).check()

    def start_osd(self, host: str, osd: int) -> None:
        self._on(host).run(["systemctl", "start", f"ceph-osd@{osd}"]).check()

    def osd_running(self, host: str, osd: int) -> bool:
        result = self._on(host).run(["systemctl", "is-active", "--quiet", f"ceph-osd@{osd}"])
        return result.status == 0

    def zap(self, host: str, osd: int, device: str | None, db: str | None = None) -> None:
        """The data device with ``--destroy`` (the new disk may carry old LVs); the DB volume
        without it: its LV stays for the replacement, as ``ceph-volume`` re-uses it."""
        argv = ["ceph-volume", "lvm", "zap", "--destroy"]
        argv += [device_word(host, device)] if device else ["--osd-id", str(osd)]
        self._on(host).run(argv).check()
        if db:
            self._on(host).run(["ceph-volume", "lvm", "zap", device_word(host, db)]).check()

    def create_osd(self, host: str, device: str | None, osd: int | None,
                   db: str | None = None) -> int:
        if not device:
            raise CephError(f"creating an OSD on {host} needs a device")
        argv = ["ceph-volume", "lvm", "create", "--data", device_word(host, device)]
        if db:
            argv += ["--block.db", device_word(host, db)]
        if osd is not None:
            argv += ["--osd-id", str(osd)]
        self._on(host).run(argv).check()
        if osd is not None:
            return osd
        listing = self._on(host).run(["ceph-volume", "lvm", "list", device_word(host, device),
                                      "--format", "json"])
        for osd_id in listing.check().json():
            return int(osd_id)
        raise CephError(f"ceph-volume created no OSD on {host}:{device}")

    def device_info(self, host: str, osd: int) -> DeviceInfo | None:
        """The OSD's volumes as ``ceph-volume lvm list`` reads them from the LV tags: the DB
        volume's tags survive a dead data disk, so its replacement gets the same DB."""
        result = self._on(host).run(["ceph-volume", "lvm", "list", "--format", "json"])
        if not result.ok:
            return None
        volumes = (result.json() or {}).get(str(osd)) or []
        data = next((v for v in volumes if v.get("type") == "block"), None)
        db = next((v for v in volumes if v.get("type") == "db"), None)
        if data is None and db is None:
            return None
        devices = (data or {}).get("devices") or []
        return DeviceInfo(host=host, osd=osd, device=devices[0] if devices else None,
                          db=(f"{db['vg_name']}/{db['lv_name']}" if db and db.get("vg_name")
                              else (db or {}).get("lv_path")))
