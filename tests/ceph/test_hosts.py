"""Host backends build the right commands (recorded by a fake transport: pure argv logic)."""

from __future__ import annotations

import pytest

from cephflow.ceph.backends import CliBackend
from cephflow.ceph.client import CephClient
from cephflow.ceph.hosts.cephadm import CephadmHosts
from cephflow.ceph.hosts.systemd import SystemdHosts
from cephflow.ceph.transport import CommandResult
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

    def transport_for(host):
        return per_host.setdefault(host, Recorder({
            ("systemctl", "is-active", "--quiet", "ceph-osd@7"): (3, ""),
        }))

    ops = SystemdHosts(transport_for)
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
