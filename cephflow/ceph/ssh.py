"""Run commands on another host over SSH (paramiko), with the host key verified.

Host keys are checked against a known_hosts file. An unknown key is refused unless the
operator opted in for that very host (``ceph.ssh_trust_new_host_keys``): then the key is
trusted on first use and written to known_hosts, so every later connection is verified
against it. A key that differs from the one known_hosts holds is always refused, opted in or
not. Both messages name the host and the key's SHA256 fingerprint, as ``ssh-keygen -lf``
shows it on the host, so the operator can compare them. Authentication
is by key file or SSH agent. Connecting is retried with tenacity when the failure is
transient (refused, reset, timed out); a wrong host key, a rejected login or a missing key
file is permanent and fails at once. A command is sent as ``shlex.join(argv)`` so the remote
shell sees exactly the argument list cephflow built. A connection that drops while a command
runs is a ``TransportError`` (never a result with a made-up exit status), and the command is
not sent again here: ``CephClient`` runs a read again, never a change.
"""

from __future__ import annotations

import logging
import os
import shlex
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import paramiko
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from cephflow.ceph.command_runner import BytesResult, CommandResult, permanent
from cephflow.errors import HostKeyError, NoAnswer, TransportError

log = logging.getLogger(__name__)

_TRANSIENT = (
    socket.timeout,
    ConnectionError,
    EOFError,
    paramiko.ssh_exception.NoValidConnectionsError,
)


class _Transient(Exception):
    """Internal: a failure worth another try (wraps the original)."""


def _key_text(key: paramiko.PKey) -> str:
    """A host key as the operator checks it: its type and SHA256 fingerprint."""
    return f"{key.get_name()} {key.fingerprint}"


class _RefuseUnknown(paramiko.MissingHostKeyPolicy):
    """An unknown host key: refused, with what to check and how to let it in."""

    def __init__(self, runner: SshRunner):
        self.runner = runner

    def missing_host_key(self, client, hostname, key) -> None:
        runner = self.runner
        raise HostKeyError(
            f"SSH host key of {runner.where} is not in {runner.known_hosts} "
            f"(the host offers {_key_text(key)}); refusing to connect. Check that fingerprint "
            f"on {runner.host} (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then add the key "
            f"to known_hosts, or list {runner.host!r} in ceph.ssh_trust_new_host_keys to "
            "trust it on first use"
        )


class _TrustOnFirstUse(paramiko.MissingHostKeyPolicy):
    """An unknown host key of an opted-in host: accepted and appended to known_hosts.

    Appending one line (never rewriting the file) keeps the other hosts' entries and what a
    concurrent worker appends; the next connection finds the key and verifies it.
    """

    def __init__(self, runner: SshRunner):
        self.runner = runner

    def missing_host_key(self, client, hostname, key) -> None:
        path = self.runner.known_hosts
        line = paramiko.hostkeys.HostKeyEntry([hostname], key).to_line()
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as known:
                known.write(line)
        except OSError as exc:
            raise HostKeyError(
                f"cannot record the SSH host key of {self.runner.where} "
                f"({_key_text(key)}) in {path}: {exc}; refusing to connect"
            ) from exc
        client.get_host_keys().add(hostname, key.get_name(), key)
        log.warning("trusted the new SSH host key of %s on first use (%s), recorded in %s",
                    self.runner.where, _key_text(key), path)


def _connection_died(transport: paramiko.Transport | None) -> bool:
    """Whether ``transport`` ended under a command that gave no exit status.

    Its thread wakes the channels first and marks itself inactive just after; a command that
    ended by a signal leaves it running. So a live transport is given a moment to end.
    """
    if transport is None or not transport.is_active():
        return True
    transport.join(timeout=1.0)
    return not transport.is_active()


class SshRunner:
    """One SSH connection to ``host``, opened on first use and reopened when it drops."""

    def __init__(
        self,
        host: str,
        *,
        port: int = 22,
        user: str | None = None,
        key_file: Path | None = None,
        known_hosts: Path | None = None,
        allow_agent: bool = True,
        trust_new_host_key: bool = False,
        connect_timeout: float = 10.0,
        command_timeout: float = 120.0,
        connect_attempts: int = 3,
    ):
        self.host = host
        self.port = port
        self.user = user
        self.key_file = key_file
        self.known_hosts = known_hosts or Path.home() / ".ssh" / "known_hosts"
        self.allow_agent = allow_agent
        self.trust_new_host_key = trust_new_host_key
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.connect_attempts = connect_attempts
        self._client: paramiko.SSHClient | None = None
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        return f"{self.user + '@' if self.user else ''}{self.host}:{self.port}"

    def _new_client(self) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        if self.known_hosts.exists():
            client.load_host_keys(str(self.known_hosts))
        policy = _TrustOnFirstUse(self) if self.trust_new_host_key else _RefuseUnknown(self)
        client.set_missing_host_key_policy(policy)
        return client

    def _connect_once(self) -> paramiko.SSHClient:
        client = self._new_client()
        try:
            client.connect(
                self.host,
                port=self.port,
                username=self.user,
                key_filename=str(self.key_file) if self.key_file else None,
                allow_agent=self.allow_agent,
                look_for_keys=self.key_file is None,
                timeout=self.connect_timeout,
                banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout,
            )
        except HostKeyError:  # from the missing-key policy
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyError(
                f"SSH host key of {self.where} does not match {self.known_hosts}: the host "
                f"offers {_key_text(exc.key)}, known_hosts holds {_key_text(exc.expected_key)}; "
                "refusing to connect (the host was reinstalled, or someone is in between: "
                "check the fingerprint on the host before replacing the known_hosts entry)"
            ) from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            raise permanent(f"SSH login to {self.where} was refused: {exc}") from exc
        except _TRANSIENT as exc:
            client.close()
            raise _Transient(exc) from exc
        except paramiko.SSHException as exc:
            client.close()
            raise _Transient(exc) from exc
        except OSError as exc:
            client.close()
            raise _Transient(exc) from exc
        return client

    def _connect(self) -> paramiko.SSHClient:
        if self.key_file is not None and not os.access(self.key_file, os.R_OK):
            # paramiko's own error would be an OSError, retried as if the network had failed
            raise permanent(f"SSH key file {self.key_file} for {self.where} is missing or "
                            "unreadable")
        attempt = retry(
            retry=retry_if_exception_type(_Transient),
            stop=stop_after_attempt(self.connect_attempts),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            reraise=True,
        )(self._connect_once)
        try:
            return attempt()
        except _Transient as exc:
            cause = exc.__cause__ or exc
            raise TransportError(
                f"cannot reach {self.where} over SSH after {self.connect_attempts} tries: {cause}"
            ) from cause

    def _client_ready(self) -> paramiko.SSHClient:
        with self._lock:
            transport = self._client.get_transport() if self._client else None
            if transport is None or not transport.is_active():
                self.close_unlocked()
                self._client = self._connect()
            return self._client

    def run(
        self, argv: Sequence[str], *, input: str | None = None, timeout: float | None = None
    ) -> CommandResult:
        argv = tuple(str(a) for a in argv)
        started = time.monotonic()
        status, out, err = self._exec(argv, input=input, timeout=timeout)
        return CommandResult(argv, status, out.decode(errors="replace"), err,
                             time.monotonic() - started)

    def run_bytes(self, argv: Sequence[str], *, timeout: float | None = None) -> BytesResult:
        """Like ``run``, stdout kept as bytes (``ceph osd getmap`` prints a binary map)."""
        argv = tuple(str(a) for a in argv)
        started = time.monotonic()
        status, out, err = self._exec(argv, input=None, timeout=timeout)
        return BytesResult(argv, status, out, err, time.monotonic() - started)

    def _exec(self, argv: tuple[str, ...], *, input: str | None,
              timeout: float | None) -> tuple[int, bytes, str]:
        """(exit status, stdout bytes, stderr text) of ``argv`` run on the host."""
        command = shlex.join(argv)
        limit = timeout or self.command_timeout
        channel_files = None
        for attempt in (1, 2):
            client = self._client_ready()
            try:
                channel_files = client.exec_command(command, timeout=limit)
                break
            except (paramiko.SSHException, EOFError, ConnectionError) as exc:
                # the connection dropped before the command started: reconnect once
                self.close()
                if attempt == 2:
                    raise TransportError(f"{command} on {self.where}: {exc}") from exc
        stdin, stdout, stderr = channel_files
        try:
            if input is not None:
                stdin.write(input)
            stdin.channel.shutdown_write()
            out = stdout.read()
            err = stderr.read().decode(errors="replace")
            status = stdout.channel.recv_exit_status()
            if status == -1 and _connection_died(stdout.channel.get_transport()):
                # paramiko ends the reads at EOF and gives -1 when the connection dies under
                # a running command: that is no answer of the command's
                raise EOFError("the connection closed before the command finished")
        except TimeoutError as exc:  # socket.timeout: the command did not finish in time
            stdout.channel.close()  # the remote command may go on; this side stops waiting
            raise NoAnswer(f"{command} on {self.where}: no answer within {limit:g}s",
                           who=self.where, waited=limit) from exc
        except (paramiko.SSHException, EOFError, ConnectionError) as exc:
            # the command may have run: never re-send it, let the caller decide
            self.close()
            raise TransportError(f"{command} on {self.where}: connection lost: {exc}") from exc
        return status, out, err

    def close_unlocked(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def close(self) -> None:
        with self._lock:
            self.close_unlocked()
