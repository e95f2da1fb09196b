"""Backends that run a ``CephCommand``: the ``ceph`` CLI over a runner, or librados.

The CLI backend is the default and the only one that works over SSH. The librados backend
answers the same mon/mgr commands with the same JSON on an open handle in well under a
millisecond instead of the CLI's 0.2-1 s, so cephflow uses it for polling where the ``rados``
binding imports (Debian's python3-rados). Both return a ``CommandResult`` whose ``status`` is
the positive errno Ceph gave (16 for EBUSY), so callers handle them alike.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from cephflow.ceph.command import CephCommand
from cephflow.ceph.command_runner import CommandResult, CommandRunner
from cephflow.errors import NoAnswer, TransportError


class Backend(Protocol):
    """Runs Ceph commands."""

    name: str

    def execute(self, command: CephCommand, *, timeout: float | None = None) -> CommandResult: ...


class CliBackend:
    """``ceph [-c CONF] --connect-timeout N WORDS -f json`` over any runner."""

    name = "cli"

    def __init__(
        self,
        runner: CommandRunner,
        *,
        binary: str = "ceph",
        conf: Path | str | None = None,
        connect_timeout: float = 10.0,
    ):
        self.runner = runner
        self.binary = binary
        self.conf = conf
        self.connect_timeout = connect_timeout

    def argv(self, command: CephCommand) -> list[str]:
        argv = [self.binary]
        if self.conf:
            argv += ["-c", str(self.conf)]
        argv += ["--connect-timeout", f"{self.connect_timeout:g}"]
        return argv + command.cli_argv()

    def execute(self, command: CephCommand, *, timeout: float | None = None) -> CommandResult:
        return self.runner.run(self.argv(command), input=command.inbuf, timeout=timeout)


def rados_available() -> bool:
    """True when the ``rados`` binding imports in this interpreter."""
    try:
        import rados  # noqa: F401
    except ImportError:
        return False
    return True


class RadosBackend:
    """librados ``mon_command``/``mgr_command`` on one handle, opened on first use."""

    name = "librados"

    def __init__(self, *, conf: Path | str, connect_timeout: float = 10.0,
                 command_timeout: float = 120.0):
        self.conf = str(conf)
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self._handle: Any = None
        self._lock = threading.Lock()

    def _cluster(self) -> Any:
        with self._lock:
            if self._handle is None:
                try:
                    import rados
                except ImportError as exc:
                    raise TransportError("the rados Python binding is not installed") from exc
                try:
                    handle = rados.Rados(conffile=self.conf)
                except rados.Error as exc:
                    raise TransportError(f"librados cannot read {self.conf}: {exc}") from exc
                try:
                    handle.connect(timeout=int(max(self.connect_timeout, 1)))
                except rados.Error as exc:
                    handle.shutdown()
                    raise TransportError(f"librados cannot connect ({self.conf}): {exc}") from exc
                self._handle = handle
            return self._handle

    def execute(self, command: CephCommand, *, timeout: float | None = None) -> CommandResult:
        """Send the command on the handle, under a watchdog.

        librados' ``mgr_command`` ignores its ``timeout``: with the mgr down a call blocks
        until a mgr is back. So the call runs in a thread of its own; past ``timeout`` (or
        ``command_timeout``) the handle is dropped (the stuck call keeps it until it returns)
        and ``NoAnswer`` names who did not answer. The next call connects afresh.
        """
        import rados

        cluster = self._cluster()
        body = json.dumps(command.to_json())
        inbuf = (command.inbuf or "").encode()
        deadline = float(timeout or self.command_timeout)
        send = cluster.mgr_command if command.target == "mgr" else cluster.mon_command
        answer: dict[str, Any] = {}

        def call() -> None:
            try:
                answer["value"] = send(body, inbuf, timeout=int(max(deadline, 1)))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                answer["error"] = exc

        started = time.monotonic()
        worker = threading.Thread(target=call, name="cephflow-librados", daemon=True)
        worker.start()
        worker.join(deadline)
        if worker.is_alive():
            self._abandon(cluster)
            raise NoAnswer(f"librados {command.target} command {command.prefix!r}: no answer "
                           f"within {deadline:g}s", who=command.target, waited=deadline)
        error = answer.get("error")
        if isinstance(error, rados.Error):
            self.close()
            raise TransportError(f"librados {command.prefix}: {error}") from error
        if error is not None:
            raise error
        ret, out, outs = answer["value"]
        argv = ("librados", command.target, body)
        return CommandResult(
            argv, -ret, out.decode(errors="replace"), outs, time.monotonic() - started
        )

    def _abandon(self, handle: Any) -> None:
        """Forget ``handle`` without shutting it down: a call still blocks on it."""
        with self._lock:
            if self._handle is handle:
                self._handle = None

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.shutdown()
                self._handle = None
