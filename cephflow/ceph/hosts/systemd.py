"""Package-installed Ceph: systemd units and ``ceph-volume`` on each host, over SSH.

Each OSD host is reached with its own ``SshTransport`` (same user, key and known_hosts as the
admin host); commands are argv lists, e.g. ``systemctl stop ceph-osd@12``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from cephflow.ceph.access import ssh_transport
from cephflow.ceph.hosts.base import DeviceInfo, device_word
from cephflow.ceph.transport import Transport
from cephflow.errors import CephError
from cephflow.settings import CephSettings


class SystemdHosts:
    """Host operations with systemctl and ceph-volume, one transport per host."""

    name = "ssh"

    def __init__(self, transport_for: Callable[[str], Transport]):
        self._transport_for = transport_for
        self._transports: dict[str, Transport] = {}

    @classmethod
    def from_settings(cls, ceph: CephSettings) -> SystemdHosts:
        return cls(functools.partial(ssh_transport, ceph=ceph))

    def _on(self, host: str) -> Transport:
        if host not in self._transports:
            self._transports[host] = self._transport_for(host)
        return self._transports[host]

    def stop_osd(self, host: str, osd: int) -> None:
        self._on(host).run(["systemctl", "stop", f"ceph-osd@{osd}"]).check()

    def start_osd(self, host: str, osd: int) -> None:
        self._on(host).run(["systemctl", "start", f"ceph-osd@{osd}"]).check()

    def osd_running(self, host: str, osd: int) -> bool:
        result = self._on(host).run(["systemctl", "is-active", "--quiet", f"ceph-osd@{osd}"])
        return result.status == 0

    def zap(self, host: str, osd: int, device: str | None) -> None:
        argv = ["ceph-volume", "lvm", "zap", "--destroy"]
        argv += [device_word(host, device)] if device else ["--osd-id", str(osd)]
        self._on(host).run(argv).check()

    def create_osd(self, host: str, device: str | None, osd: int | None) -> int:
        if not device:
            raise CephError(f"creating an OSD on {host} needs a device")
        argv = ["ceph-volume", "lvm", "create", "--data", device_word(host, device)]
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
        return None
