"""SSH host keys, against a real sshd (issue 16, access): an unknown key is refused unless the
operator opted in for that very host (``ceph.ssh_trust_new_host_keys``); an opted-in host's key
is trusted on first use and recorded in known_hosts; a changed key is refused for everyone.

Every refusal is a HostKeyError, never retried, that names the host and the key's SHA256
fingerprint. The sshd listens on 127.0.0.1 only; ``localhost`` reaches it under another name.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess

import pytest

from cephflow.ceph.access import ssh_runner
from cephflow.ceph.backends import CliBackend
from cephflow.ceph.client import CephClient
from cephflow.errors import HostKeyError
from cephflow.settings import CephSettings


def fingerprint(public_key: str) -> str:
    """``ssh-keygen -lf``'s SHA256 fingerprint of ``"<type> <base64>"``."""
    digest = hashlib.sha256(base64.b64decode(public_key.split()[1])).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def settings(sshd, known_hosts, trusted=()) -> CephSettings:
    return CephSettings(ssh_port=sshd.port, ssh_user=sshd.user, ssh_key=sshd.client_key,
                        known_hosts=known_hosts, ssh_trust_new_host_keys=list(trusted))


def run_true(host: str, ceph: CephSettings, tries: list[int] | None = None) -> str:
    runner = ssh_runner(host, ceph)
    runner.allow_agent = False
    if tries is not None:
        counting_connects(runner, tries)
    try:
        return runner.run(["echo", "ok"]).stdout.strip()
    finally:
        runner.close()


def counting_connects(runner, tries: list[int]) -> list[int]:
    """Count the runner's tries to connect in ``tries`` (a retry would be a second one)."""
    connect_once = runner._connect_once

    def counted():
        tries.append(1)
        return connect_once()

    runner._connect_once = counted
    return tries


def test_an_unknown_host_key_is_refused_once_naming_host_and_fingerprint(sshd, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    runner = sshd.runner(known_hosts=empty)
    client = CephClient(CliBackend(runner))  # a read: the client retries transient failures
    tries = counting_connects(runner, [])
    with pytest.raises(HostKeyError) as caught:
        client.health()
    message = str(caught.value)
    assert f"of {sshd.user}@127.0.0.1:{sshd.port} is not in {empty}" in message
    assert f"(the host offers ssh-ed25519 {fingerprint(sshd.host_key_pub)})" in message
    assert "ceph.ssh_trust_new_host_keys" in message
    assert empty.read_text() == ""
    assert len(tries) == 1  # neither the runner nor the client tried again


def test_an_opted_in_host_is_trusted_on_first_use_and_recorded(sshd, tmp_path):
    known = tmp_path / "ssh" / "known_hosts"  # not there yet: created, owner-only
    ceph = settings(sshd, known, trusted=["localhost"])
    assert run_true("localhost", ceph) == "ok"
    assert known.read_text() == f"[localhost]:{sshd.port} {sshd.host_key_pub}\n"
    assert known.stat().st_mode & 0o777 == 0o600
    # the next connection is verified against the recorded key, opted in or not
    assert run_true("localhost", settings(sshd, known)) == "ok"
    assert known.read_text().count("\n") == 1


def test_a_host_not_opted_in_is_still_refused(sshd, tmp_path):
    known = tmp_path / "known_hosts"
    ceph = settings(sshd, known, trusted=["localhost", "osd-host-7"])
    with pytest.raises(HostKeyError, match=f"{sshd.user}@127.0.0.1:{sshd.port} is not in"):
        run_true("127.0.0.1", ceph)
    assert not known.exists()
    run_true("localhost", ceph)  # the same sshd under the opted-in name: recorded for it only
    with pytest.raises(HostKeyError, match=re.escape(fingerprint(sshd.host_key_pub))):
        run_true("127.0.0.1", ceph)
    assert known.read_text() == f"[localhost]:{sshd.port} {sshd.host_key_pub}\n"


@pytest.mark.parametrize("trusted", [[], ["127.0.0.1"]], ids=["not-opted-in", "opted-in"])
def test_a_changed_host_key_is_refused_even_for_an_opted_in_host(trusted, sshd, tmp_path):
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    old = " ".join(other.with_suffix(".pub").read_text().split()[:2])
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {old}\n")
    tries: list[int] = []
    with pytest.raises(HostKeyError) as caught:
        run_true("127.0.0.1", settings(sshd, known, trusted), tries)
    message = str(caught.value)
    assert f"of {sshd.user}@127.0.0.1:{sshd.port} does not match {known}" in message
    assert f"the host offers ssh-ed25519 {fingerprint(sshd.host_key_pub)}" in message
    assert f"known_hosts holds ssh-ed25519 {fingerprint(old)}" in message
    assert known.read_text() == f"[127.0.0.1]:{sshd.port} {old}\n"  # nothing replaced
    assert len(tries) == 1


def test_a_refused_host_key_fails_a_waiting_step_at_once_instead_of_waiting_it_out(monkeypatch):
    """A waiting step waits through an outage (``through_outages``); a refused host key is no
    outage: the step fails at once (``StepFailed``) with the fingerprints, for an operator."""
    from cephflow.engine.context import MemoryBackend, StepContext
    from cephflow.errors import StepFailed
    from cephflow.tasks.ceph import common

    class Refusing:
        name = "ssh"

        def execute(self, command, *, timeout=None):
            raise HostKeyError("SSH host key of root@admin does not match known_hosts")

    client = CephClient(Refusing())
    monkeypatch.setattr(common, "client_for", lambda settings: client)

    @common.through_outages
    def wait_for_health(ctx):
        return common.ceph(ctx).health()

    with pytest.raises(HostKeyError, match="does not match") as refused:
        wait_for_health(StepContext("wf", "wait", MemoryBackend()))
    assert isinstance(refused.value, StepFailed)
