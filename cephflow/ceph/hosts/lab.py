"""The lab cluster's hosts: its daemons are local processes managed by ``labctl.sh``.

The lab's "disk" of an OSD is its memstore directory; a zap wipes it and a create runs
``ceph osd new`` (re-using the id), mkfs and starts the daemon, as ``ceph-volume`` would.
"""

from __future__ import annotations

from pathlib import Path

from cephflow.ceph.client import CephClient
from cephflow.ceph.command_runner import LocalRunner
from cephflow.ceph.hosts.base import DeviceInfo
from cephflow.errors import CephError

LABCTL = Path(__file__).resolve().parent.parent.parent / "lab" / "labctl.sh"


class LabHosts:
    """Host operations on the lab cluster in ``lab_dir``."""

    name = "lab"

    def __init__(self, lab_dir: Path, client: CephClient):
        self.lab_dir = Path(lab_dir)
        self.client = client
        self.runner = LocalRunner(timeout=120)

    def _labctl(self, *args: str) -> str:
        return self.runner.run([str(LABCTL), args[0], str(self.lab_dir), *args[1:]]).check().stdout

    def stop_osd(self, host: str, osd: int) -> None:
        self._labctl("stop-osd", str(osd))

    def start_osd(self, host: str, osd: int) -> None:
        self._labctl("start-osd", str(osd))

    def osd_running(self, host: str, osd: int) -> bool:
        pidfile = self.lab_dir / "run" / f"osd.{osd}.pid"
        try:
            pid = int(pidfile.read_text().strip())
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (OSError, ValueError):
            return False
        return stat.rsplit(")", 1)[-1].split()[0] != "Z"

    def zap(self, host: str, osd: int, device: str | None, db: str | None = None) -> None:
        self._labctl("zap", str(osd))

    def create_osd(self, host: str, device: str | None, osd: int | None,
                   db: str | None = None) -> int:
        out = self._labctl("add-osd", host, *([str(osd)] if osd is not None else []))
        digits = out.strip().splitlines()[-1].strip() if out.strip() else ""
        if not digits.isdigit():
            raise CephError(f"lab add-osd printed no id: {out!r}")
        return int(digits)

    def device_info(self, host: str, osd: int) -> DeviceInfo | None:
        dump = self.client.osd_dump()
        state = dump.osds.get(osd)
        serial = f"LAB{state.uuid.replace('-', '')[:12].upper()}" if state and state.uuid else None
        return DeviceInfo(
            host=host,
            osd=osd,
            device=str(self.lab_dir / "osd" / f"ceph-{osd}"),
            path=f"lab:{host}:slot{osd}",
            model="memstore (lab)",
            serial=serial,
        )
