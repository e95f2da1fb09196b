"""Backends that run a ``CephCommand``: the ``ceph`` CLI over a runner, or librados.

The CLI backend is the default and the only one that works over SSH. The librados backend
answers the same mon/mgr commands with the same JSON on an open handle in well under a
millisecond instead of the CLI's 0.2-1 s, so cephflow uses it for polling where the ``rados``
binding imports (Debian's python3-rados). Both return a ``CommandResult`` whose ``status`` is
the positive errno Ceph gave (16 for EBUSY), so callers handle them alike.

Every call has a real deadline on both: the CLI runs as a process killed at its timeout; a
librados call runs under a watchdog, because the binding ignores its ``timeout`` argument
(with no mgr, ``mgr_command`` waits for one for good). A call past its deadline raises
``NoAnswer``: "ceph mgr did not answer within 30 s: osd ok-to-stop 0".
"""

from __future__ import annotations

import errno
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from cephflow.ceph.command import CephCommand
from cephflow.ceph.command_runner import BytesResult, CommandResult, CommandRunner
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
        """Run the ``ceph`` process; the runner kills it at ``timeout`` (its own by default)."""
        try:
            result = self.runner.run(self.argv(command), input=command.inbuf, timeout=timeout)
        except NoAnswer as exc:
            raise no_answer(command, exc.waited) from exc
        if result.status == errno.ETIMEDOUT:
            raise no_answer(command, timeout or 0.0, result.stderr.strip())
        return result

    def fetch_bytes(self, command: CephCommand, *, timeout: float | None = None) -> BytesResult:
        """Like ``execute``, stdout kept as bytes (``osd getmap`` prints a binary map); needs
        a runner that can hand back bytes (the local and the SSH runner can)."""
        run_bytes = getattr(self.runner, "run_bytes", None)
        if run_bytes is None:
            raise TransportError(f"{type(self.runner).__name__} cannot return a binary answer "
                                 f"(ceph {' '.join(command.words)})")
        try:
            result = run_bytes(self.argv(command), timeout=timeout)
        except NoAnswer as exc:
            raise no_answer(command, exc.waited) from exc
        if result.status == errno.ETIMEDOUT:
            raise no_answer(command, timeout or 0.0, result.stderr.strip())
        return result


def no_answer(command: CephCommand, waited: float, why: str = "") -> NoAnswer:
    """"ceph mgr did not answer within 30 s: osd ok-to-stop 0 2": who, how long, what."""
    words = " ".join(command.words)
    return NoAnswer(
        f"ceph {command.target} did not answer within {waited:g} s: {words}"
        + (f" ({why})" if why else ""),
        who=command.target, waited=waited,
    )


class Expired(Exception):
    """``within`` gave up waiting: the call is still running in its abandoned thread."""


def within(deadline: float, call: Callable[[], Any], *, name: str = "cephflow-call",
           finished: Callable[[], None] | None = None) -> Any:
    """``call()``'s value (or exception), or ``Expired`` once ``deadline`` seconds have passed.

    The call runs in a daemon thread joined with the deadline: a call that never returns
    keeps its thread, not its caller. ``finished`` runs in that thread once the call is over,
    whether or not anyone still waits for it (an abandoned handle is closed there).
    """
    answer: dict[str, Any] = {}

    def run() -> None:
        try:
            answer["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            answer["error"] = exc
        finally:
            if finished is not None:
                finished()

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    worker.join(max(deadline, 0.0))
    if worker.is_alive():
        raise Expired(f"no answer within {deadline:g}s")
    if "error" in answer:
        raise answer["error"]
    return answer["value"]


def rados_available() -> bool:
    """True when the ``rados`` binding imports in this interpreter."""
    try:
        import rados  # noqa: F401
    except ImportError:
        return False
    return True


def rados_handle(conf: str, options: dict[str, str]) -> Any:
    """A new, unconnected ``rados.Rados`` on ``conf`` with ``options`` set before connecting
    (librados reads its timeouts at connect time only)."""
    try:
        import rados
    except ImportError as exc:
        raise TransportError("the rados Python binding is not installed") from exc
    try:
        handle = rados.Rados(conffile=conf)
        for key, value in options.items():
            handle.conf_set(key, value)
    except rados.Error as exc:
        raise TransportError(f"librados cannot read {conf}: {exc}") from exc
    return handle


def _rados_error() -> type[BaseException]:
    try:
        import rados
    except ImportError:  # a handle made by a test: nothing raises rados.Error
        return type("NoRadosError", (Exception,), {})
    return rados.Error


class RadosBackend:
    """librados ``mon_command``/``mgr_command`` on one handle, opened on first use.

    Two deadlines: librados' own (``rados_mon_op_timeout`` and ``rados_osd_op_timeout`` set to
    the call timeout, ``client_mount_timeout`` to the connect timeout, before connecting),
    which ends a mon command with ETIMEDOUT and keeps the handle (a mgr command too, but that
    handle is shut down: see ``execute``); and a watchdog for whatever librados does not end
    (the binding's ``timeout`` argument is ignored; a connect stuck in hunting): past it the
    handle is abandoned to the stuck call, which closes it once it returns, and the next call
    connects afresh.
    """

    name = "librados"

    def __init__(self, *, conf: Path | str, connect_timeout: float = 10.0,
                 command_timeout: float = 30.0,
                 handle_factory: Callable[[str, dict[str, str]], Any] = rados_handle):
        self.conf = str(conf)
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.handle_factory = handle_factory
        self._handle: Any = None
        self._lock = threading.Lock()
        self._busy: dict[int, int] = {}
        """Calls running on each handle (by id): an abandoned handle is closed at zero."""
        self._abandoned: set[int] = set()

    def options(self) -> dict[str, str]:
        """The librados options set before connecting: its own deadlines."""
        op = f"{max(int(self.command_timeout), 1)}"
        return {
            "rados_mon_op_timeout": op,
            "rados_osd_op_timeout": op,
            "client_mount_timeout": f"{max(int(self.connect_timeout), 1)}",
        }

    def _cluster(self) -> Any:
        with self._lock:
            if self._handle is not None:
                self._busy[id(self._handle)] = self._busy.get(id(self._handle), 0) + 1
                return self._handle
        handle = self.handle_factory(self.conf, self.options())
        error = _rados_error()
        late = {"gave_up": False, "over": False}

        def connected() -> None:
            with self._lock:
                late["over"] = True
                if not late["gave_up"]:
                    return
            handle.shutdown()  # nobody waits for this connect any more

        try:
            within(self.connect_timeout + 1.0, lambda: handle.connect(
                timeout=int(max(self.connect_timeout, 1))), name="cephflow-rados-connect",
                finished=connected)
        except Expired as exc:
            # a connect stuck in hunting cannot be cancelled: it closes the handle when over
            with self._lock:
                late["gave_up"] = True
                over = late["over"]
            if over:
                handle.shutdown()
            raise NoAnswer(f"ceph mon did not answer within {self.connect_timeout:g} s: "
                           f"connect ({self.conf})", who="mon",
                           waited=self.connect_timeout) from exc
        except error as exc:
            handle.shutdown()
            raise TransportError(f"librados cannot connect ({self.conf}): {exc}") from exc
        with self._lock:
            if self._handle is None:
                self._handle = handle
            else:  # another thread connected meanwhile: use its handle
                handle.shutdown()
            self._busy[id(self._handle)] = self._busy.get(id(self._handle), 0) + 1
            return self._handle

    def _done(self, handle: Any) -> None:
        """A call on ``handle`` is over: close it if it was abandoned and no call is left."""
        with self._lock:
            key = id(handle)
            self._busy[key] = self._busy.get(key, 1) - 1
            if self._busy[key] > 0:
                return
            del self._busy[key]
            if key not in self._abandoned:
                return
            self._abandoned.discard(key)
        handle.shutdown()

    def execute(self, command: CephCommand, *, timeout: float | None = None) -> CommandResult:
        """Send the command on the handle, under a watchdog of ``timeout`` (or
        ``command_timeout``); ``NoAnswer`` past it, or when librados' own timeout ends it."""
        started = time.monotonic()
        ret, out, outs, body = self._send(command, timeout)
        argv = ("librados", command.target, body)
        if isinstance(out, bytes):
            out = out.decode(errors="replace")
        return CommandResult(argv, -ret, out, outs, time.monotonic() - started)

    def fetch_bytes(self, command: CephCommand, *, timeout: float | None = None) -> BytesResult:
        """Like ``execute``, the answer kept as bytes (``osd getmap``: a binary map)."""
        started = time.monotonic()
        ret, out, outs, body = self._send(command, timeout)
        if isinstance(out, str):
            out = out.encode()
        return BytesResult(("librados", command.target, body), -ret, out, outs,
                           time.monotonic() - started)

    def _send(self, command: CephCommand, timeout: float | None) -> tuple[int, Any, str, str]:
        """(ret, outbuf, outs, the JSON sent) of one command on the handle."""
        body = json.dumps(command.to_json())
        inbuf = (command.inbuf or "").encode()
        deadline = float(timeout or self.command_timeout)
        cluster = self._cluster()
        send = cluster.mgr_command if command.target == "mgr" else cluster.mon_command
        try:
            ret, out, outs = within(
                deadline, lambda: send(body, inbuf, timeout=int(max(deadline, 1))),
                name="cephflow-librados", finished=lambda: self._done(cluster),
            )
        except Expired as exc:
            self._abandon(cluster)
            raise no_answer(command, deadline) from exc
        except _rados_error() as exc:
            self._abandon(cluster)
            raise TransportError(f"librados {command.prefix}: {exc}") from exc
        if abs(ret) == errno.ETIMEDOUT:
            # a mon command ends with -ETIMEDOUT; a mgr command with +ETIMEDOUT (librados
            # hands back the bare wait_for result: seen with Ceph 16.2)
            if command.target == "mgr":
                # librados gave up waiting but its mgr client still holds the command, with
                # pointers into the call that returned: a late reply would write into freed
                # memory. Shutting the handle down drops the command unanswered.
                self._abandon(cluster)
            raise no_answer(command, deadline, str(outs).strip())  # its deadline, not a clock reading
        return ret, out, outs, body

    def _abandon(self, handle: Any) -> None:
        """Forget ``handle``; the last call still running on it closes it (``_done``)."""
        with self._lock:
            if self._handle is handle:
                self._handle = None
            if id(handle) in self._busy:
                self._abandoned.add(id(handle))
                return
        handle.shutdown()

    def close(self) -> None:
        with self._lock:
            handle, self._handle = self._handle, None
            if handle is None:
                return
            if id(handle) in self._busy:
                self._abandoned.add(id(handle))
                return
        handle.shutdown()
