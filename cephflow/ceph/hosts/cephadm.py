"""cephadm clusters: the orchestrator does host work (``ceph orch ...``) through the admin host."""

from __future__ import annotations

from cephflow.ceph.client import CephClient
from cephflow.ceph.command import cmd
from cephflow.ceph.hosts.base import DeviceInfo, device_word
from cephflow.errors import CephError


class CephadmHosts:
    """Host operations as ``ceph orch`` commands."""

    name = "cephadm"

    def __init__(self, client: CephClient, *, host_timeout: float = 120.0):
        self.client = client
        self.host_timeout = host_timeout
        """Deadline of the commands that do host work (zap, create): ``ceph.command_timeout``."""

    def stop_osd(self, host: str, osd: int) -> None:
        self.client.change(cmd("orch daemon stop", f"osd.{osd}", name=f"osd.{osd}",
                               action="stop", readonly=False, json_output=False))

    def start_osd(self, host: str, osd: int) -> None:
        self.client.change(cmd("orch daemon start", f"osd.{osd}", name=f"osd.{osd}",
                               action="start", readonly=False, json_output=False))

    def osd_running(self, host: str, osd: int) -> bool:
        daemons = self.client.query(
            cmd("orch ps", "--daemon_type", "osd", "--daemon_id", str(osd), target="mgr",
                daemon_type="osd", daemon_id=str(osd))
        )
        return any(d.get("status_desc") == "running" for d in daemons)

    def zap(self, host: str, osd: int, device: str | None, db: str | None = None) -> None:
        """The data device; a DB volume is left to the orchestrator's OSD spec, which
        re-creates the OSD with its DB where the spec says."""
        if not device:
            raise CephError(f"zapping osd.{osd} on {host} needs its device")
        device = device_word(host, device)
        self.client.change(cmd("orch device zap", host, device, "--force", hostname=host,
                               path=device, force=True, readonly=False, json_output=False,
                               timeout=self.host_timeout))

    def create_osd(self, host: str, device: str | None, osd: int | None,
                   db: str | None = None) -> int:
        """``ceph orch daemon add osd HOST:DEV``: re-uses an id left by ``orch osd rm --replace``."""
        if not device:
            raise CephError(f"creating an OSD on {host} needs a device")
        device = device_word(host, device)
        before = set(self.client.osd_dump().osds)
        self.client.change(cmd("orch daemon add osd", f"{host}:{device}",
                               svc_arg=f"{host}:{device}", readonly=False, json_output=False,
                               timeout=self.host_timeout))
        if osd is not None:
            return osd
        new = sorted(set(self.client.osd_dump().osds) - before)
        if not new:
            raise CephError(f"the orchestrator created no OSD on {host}:{device}")
        return new[0]

    def replace(self, osd: int) -> None:
        """``ceph orch osd rm N --replace``: drain and mark destroyed, keeping the id."""
        self.client.change(cmd("orch osd rm", str(osd), "--replace", osd_id=[str(osd)],
                               replace=True, readonly=False, json_output=False))

    def device_info(self, host: str, osd: int) -> DeviceInfo | None:
        return None
