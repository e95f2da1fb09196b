"""Host backends build the right commands (recorded by a fake runner: pure argv logic)."""

from __future__ import annotations

import pytest

from cephflow.ceph.backends import CliBackend
from cephflow.ceph.client import CephClient
from cephflow.ceph.command_runner import CommandResult
from cephflow.ceph.hosts.cephadm import CephadmHosts
from cephflow.ceph.hosts.systemd import SystemdHosts
from cephflow.errors import CephError, CommandFailed


class Recorder:
    def __init__(self, answers=None):
        self.calls: list[tuple[str, ...]] = []
        self.answers = answers or {}

    def run(self, argv, *, input=None, timeout=None):
        argv = tuple(argv)
        self.calls.append(argv)
        status, out = self.answers.get(argv, (0, ""))
        return CommandResult(argv, status, out, "failed" if status else "")


def test_systemd_backend_commands_per_host():
    per_host: dict[str, Recorder] = {}

    def runner_for(host):
        return per_host.setdefault(host, Recorder({
            ("systemctl", "is-active", "--quiet", "ceph-osd@7"): (3, ""),
        }))

    ops = SystemdHosts(runner_for)
    ops.stop_osd("osd-a", 3)
    ops.zap("osd-a", 3, "/dev/sdk")
    ops.zap("osd-b", 9, None)
    assert ops.create_osd("osd-a", "/dev/sdk", 3) == 3
    assert ops.osd_running("osd-b", 7) is False
    assert per_host["osd-a"].calls == [
        ("systemctl", "stop", "ceph-osd@3"),
        ("ceph-volume", "lvm", "zap", "--destroy", "/dev/sdk"),
        ("ceph-volume", "lvm", "create", "--data", "/dev/sdk", "--osd-id", "3"),
    ]
    assert per_host["osd-b"].calls[0] == ("ceph-volume", "lvm", "zap", "--destroy", "--osd-id", "9")
    with pytest.raises(CephError, match="needs a device"):
        ops.create_osd("osd-a", None, 3)


LVM_LIST = """{
 "12": [
  {"type": "db", "lv_path": "/dev/ceph-db-0/osd-db-12", "vg_name": "ceph-db-0",
   "lv_name": "osd-db-12", "devices": ["/dev/nvme0n1"], "tags": {"ceph.osd_id": "12"}}
 ],
 "13": [
  {"type": "block", "lv_path": "/dev/ceph-b13/osd-block-13", "vg_name": "ceph-b13",
   "lv_name": "osd-block-13", "devices": ["/dev/sdd"], "tags": {"ceph.osd_id": "13"}},
  {"type": "db", "lv_path": "/dev/ceph-db-0/osd-db-13", "vg_name": "ceph-db-0",
   "lv_name": "osd-db-13", "devices": ["/dev/nvme0n1"], "tags": {"ceph.osd_id": "13"}}
 ]
}"""


def test_systemd_finds_the_db_volume_of_a_dead_disk_and_re_uses_it():
    """osd.12's data disk is dead (no block LV listed any more); its DB LV's tags remain."""
    rec = Recorder({("ceph-volume", "lvm", "list", "--format", "json"): (0, LVM_LIST)})
    ops = SystemdHosts(lambda host: rec)
    dead = ops.device_info("osd-a", 12)
    assert dead is not None and dead.db == "ceph-db-0/osd-db-12" and dead.device is None
    alive = ops.device_info("osd-a", 13)
    assert alive.device == "/dev/sdd" and alive.db == "ceph-db-0/osd-db-13"
    assert ops.device_info("osd-a", 99) is None
    slot = "/dev/disk/by-path/pci-0000:3b:00.0-sas-phy12-lun-0"
    ops.zap("osd-a", 12, slot, "ceph-db-0/osd-db-12")
    assert ops.create_osd("osd-a", slot, 12, "ceph-db-0/osd-db-12") == 12
    assert rec.calls[-3:] == [
        ("ceph-volume", "lvm", "zap", "--destroy", slot),
        ("ceph-volume", "lvm", "zap", "ceph-db-0/osd-db-12"),  # wiped, its LV kept
        ("ceph-volume", "lvm", "create", "--data", slot, "--block.db", "ceph-db-0/osd-db-12",
         "--osd-id", "12"),
    ]


def test_systemd_failures_carry_the_command():
    ops = SystemdHosts(lambda host: Recorder({("systemctl", "stop", "ceph-osd@1"): (5, "")}))
    with pytest.raises(CommandFailed) as info:
        ops.stop_osd("h", 1)
    assert info.value.argv == ["systemctl", "stop", "ceph-osd@1"] and info.value.status == 5


def test_cephadm_backend_uses_the_orchestrator():
    rec = Recorder()
    ops = CephadmHosts(CephClient(CliBackend(rec, conf="/etc/ceph/ceph.conf")))
    ops.stop_osd("h1", 4)
    ops.zap("h1", 4, "/dev/sdc")
    ops.replace(4)
    tail = [c[5:] for c in rec.calls]  # after: ceph -c CONF --connect-timeout N
    assert tail == [
        ("orch", "daemon", "stop", "osd.4"),
        ("orch", "device", "zap", "h1", "/dev/sdc", "--force"),
        ("orch", "osd", "rm", "4", "--replace"),
    ]
    assert rec.calls[0][:3] == ("ceph", "-c", "/etc/ceph/ceph.conf")


@pytest.mark.parametrize("device", ["--osd-id", "-f", "/dev/sdk --destroy", ""])
def test_a_device_that_would_be_read_as_an_option_wipes_nothing(device):
    rec = Recorder()
    systemd = SystemdHosts(lambda host: rec)
    cephadm = CephadmHosts(CephClient(CliBackend(rec, conf="/etc/ceph/ceph.conf")))
    for call in (lambda: systemd.zap("osd-a", 3, device or " "),
                 lambda: systemd.create_osd("osd-a", device or " ", 3),
                 lambda: cephadm.zap("osd-a", 3, device or " "),
                 lambda: cephadm.create_osd("osd-a", device or " ", 3)):
        with pytest.raises(CephError, match="osd-a: .* is not a device path"):
            call()
    assert rec.calls == []
