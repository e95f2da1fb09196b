"""Transports: local subprocess, and SSH to a real sshd on the loopback (host key verified:
tests/ceph/test_ssh_host_keys.py)."""

from __future__ import annotations

import subprocess

import pytest

from cephflow.ceph.backends import CliBackend
from cephflow.ceph.client import CephClient
from cephflow.ceph.command_runner import CommandResult, LocalRunner
from cephflow.errors import CephError, CommandFailed, TransportError


def test_local_transport_runs_argv_without_a_shell():
    result = LocalRunner().run(["printf", "%s|", "a b", "$HOME", ";ls"])
    assert result.ok and result.stdout == "a b|$HOME|;ls|"


def test_local_transport_errors_are_cephflow_errors():
    with pytest.raises(TransportError, match="command not found"):
        LocalRunner().run(["/nonexistent/ceph"])
    with pytest.raises(TransportError, match="no answer within 0.2s"):
        LocalRunner(timeout=0.2).run(["sleep", "5"])
    failed = LocalRunner().run(["sh", "-c", "echo oops >&2; exit 3"])
    with pytest.raises(CommandFailed) as info:
        failed.check()
    assert info.value.status == 3 and info.value.stderr.strip() == "oops"


def test_result_json_rejects_non_json():
    with pytest.raises(CephError, match="not JSON"):
        CommandResult(("ceph",), 0, "Error: nope", "").json()
    assert CommandResult(("ceph",), 0, '\n{"a": 1}', "").json() == {"a": 1}


def test_ssh_runs_argv_exactly(sshd):
    runner = sshd.runner()
    try:
        result = runner.run(["printf", "%s|", "a b", "$HOME", "; touch /tmp/x", "it's"])
        assert result.ok and result.stdout == "a b|$HOME|; touch /tmp/x|it's|"
        assert runner.run(["sh", "-c", "exit 7"]).status == 7
        assert runner.run(["cat"], input="from stdin").stdout == "from stdin"
    finally:
        runner.close()


def test_ceph_cli_over_ssh(sshd, ceph_lab):
    runner = sshd.runner()
    try:
        client = CephClient(CliBackend(runner, conf=ceph_lab.conf))
        tree = client.osd_tree()
        assert sorted(tree.hosts) == ["lab-a", "lab-b", "lab-c"]
        assert client.health().status in ("HEALTH_OK", "HEALTH_WARN")
        answer = client.ok_to_stop([0, 2])  # two hosts of a size-3 pool: rc 16 over SSH too
        assert not answer.ok and "unsafe to stop" in answer.explanation
    finally:
        runner.close()


def test_rejected_login_is_permanent(sshd, tmp_path):
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    with pytest.raises(TransportError, match="login to .* was refused"):
        sshd.runner(key_file=stranger).run(["true"])


def test_a_missing_key_file_is_permanent_and_named(sshd, tmp_path):
    missing = tmp_path / "no_such_key"
    with pytest.raises(TransportError, match=r"SSH key file .*no_such_key") as caught:
        sshd.runner(key_file=missing).run(["true"])
    assert getattr(caught.value, "transient", True) is False
    assert "tries" not in str(caught.value)  # refused at once, not retried as a network blip


def test_unreachable_host_is_retried_then_reported(tmp_path):
    from cephflow.ceph.ssh import SshRunner
    from tests.fixtures.services import free_port

    runner = SshRunner("127.0.0.1", port=free_port(), known_hosts=tmp_path / "kh",
                             connect_timeout=1, connect_attempts=2, allow_agent=False)
    with pytest.raises(TransportError, match="after 2 tries"):
        runner.run(["true"])


def test_librados_with_an_unreadable_conf_is_a_transport_error(tmp_path):
    pytest.importorskip("rados")
    from cephflow.ceph.backends import RadosBackend
    from cephflow.ceph.command import cmd

    backend = RadosBackend(conf=tmp_path / "missing.conf", connect_timeout=1)
    with pytest.raises(TransportError, match=r"librados cannot read .*missing\.conf"):
        backend.execute(cmd("status"))
