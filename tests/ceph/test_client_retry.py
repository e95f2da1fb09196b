"""Reads that could not be run are tried again; changes and wrong host keys never are."""

from __future__ import annotations

import pytest

from cephflow.ceph.client import CephClient
from cephflow.ceph.command_runner import CommandResult
from cephflow.errors import HostKeyError, TransportError


class Flaky:
    name = "flaky"

    def __init__(self, failures: list[Exception]):
        self.failures = failures
        self.calls = 0

    def execute(self, command, *, timeout=None):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return CommandResult(("ceph",), 0, '{"status": "HEALTH_OK", "checks": {}}', "")


def test_a_read_is_retried_after_a_transport_failure():
    backend = Flaky([TransportError("mon unreachable")])
    assert CephClient(backend).health().ok and backend.calls == 2


def test_a_read_gives_up_after_its_attempts():
    backend = Flaky([TransportError("down")] * 5)
    with pytest.raises(TransportError, match="down"):
        CephClient(backend, read_attempts=2).health()
    assert backend.calls == 2


def test_a_wrong_host_key_is_not_retried():
    backend = Flaky([HostKeyError("key changed")])
    with pytest.raises(HostKeyError):
        CephClient(backend).health()
    assert backend.calls == 1


def test_a_change_is_never_sent_twice():
    backend = Flaky([TransportError("connection lost")])
    with pytest.raises(TransportError):
        CephClient(backend).set_flag("noout")
    assert backend.calls == 1


def test_a_refused_login_or_missing_binary_is_not_retried():
    refused = TransportError("SSH login refused")
    refused.transient = False
    backend = Flaky([refused])
    with pytest.raises(TransportError):
        CephClient(backend).health()
    assert backend.calls == 1


def test_missing_ceph_binary_fails_once(tmp_path):
    from cephflow.ceph.backends import CliBackend
    from cephflow.ceph.command_runner import LocalRunner

    client = CephClient(CliBackend(LocalRunner(), binary=str(tmp_path / "no-ceph")))
    with pytest.raises(TransportError, match="command not found") as info:
        client.health()
    assert info.value.transient is False
