"""The command-runner seam: run one command (an argv list) somewhere and hand back what it printed.

Everything above this seam (``CephClient``, the host operations) builds argument lists and
never knows whether they ran here or on an admin host over SSH. Argument lists, never shell
strings: the SSH runner quotes them with ``shlex.join`` for the remote shell.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, Self, TypeVar

from cephflow.errors import CephError, CommandFailed, NoAnswer, TransportError


def permanent(message: str) -> TransportError:
    """A TransportError that no retry can mend (refused login, missing key or binary).

    ``CephClient`` retries reads that raise TransportError; it reads ``transient`` to leave these
    alone and fail at once.
    """
    error = TransportError(message)
    error.transient = False  # type: ignore[attr-defined]
    return error


Output = TypeVar("Output", str, bytes)


@dataclass(frozen=True)
class Exited(Generic[Output]):
    """How a command exited and what it printed: text (``CommandResult``) or bytes
    (``BytesResult``, a binary answer such as ``ceph osd getmap``'s map)."""

    argv: tuple[str, ...]
    status: int
    stdout: Output
    stderr: str
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 0

    def check(self) -> Self:
        """This result, or ``CommandFailed`` (argv, status, stderr, and stdout when it is
        text) when it exited non-zero."""
        if self.status != 0:
            shown = self.stdout if isinstance(self.stdout, str) else ""
            raise CommandFailed(self.argv, self.status, self.stderr, shown)
        return self


class CommandResult(Exited[str]):
    """What a command printed as text and how it exited."""

    def json(self) -> Any:
        """stdout parsed as JSON (Ceph prints a leading newline; that is fine)."""
        try:
            return json.loads(self.stdout)
        except ValueError as exc:
            snippet = self.stdout.strip()[:200] or "(empty)"
            raise CephError(f"{' '.join(self.argv)}: output is not JSON: {snippet}") from exc


class BytesResult(Exited[bytes]):
    """What a command printed as bytes and how it exited."""


class CommandRunner(Protocol):
    """Runs an argv list; returns its result whatever the exit status.

    Raises TransportError when the command could not be run or gave no answer in time.
    """

    def run(
        self, argv: Sequence[str], *, input: str | None = None, timeout: float | None = None
    ) -> CommandResult: ...


class LocalRunner:
    """Runs commands on this machine with ``subprocess`` (no shell)."""

    def __init__(self, *, timeout: float = 120.0, env: dict[str, str] | None = None):
        self.timeout = timeout
        self.env = env

    def run(
        self, argv: Sequence[str], *, input: str | None = None, timeout: float | None = None
    ) -> CommandResult:
        argv = tuple(str(a) for a in argv)
        started = time.monotonic()
        proc = self._run(argv, input=input, timeout=timeout, text=True)
        return CommandResult(
            argv, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started
        )

    def run_bytes(self, argv: Sequence[str], *, timeout: float | None = None) -> BytesResult:
        """Like ``run``, stdout kept as bytes (``ceph osd getmap`` prints a binary map)."""
        argv = tuple(str(a) for a in argv)
        started = time.monotonic()
        proc = self._run(argv, input=None, timeout=timeout, text=False)
        return BytesResult(argv, proc.returncode, proc.stdout,
                           proc.stderr.decode(errors="replace"), time.monotonic() - started)

    def _run(self, argv: tuple[str, ...], *, input: str | None, timeout: float | None,
             text: bool) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(
                argv,
                input=input,
                capture_output=True,
                text=text,
                timeout=timeout or self.timeout,
                env=self.env,
                check=False,
            )
        except FileNotFoundError as exc:
            raise permanent(f"{argv[0]}: command not found") from exc
        except subprocess.TimeoutExpired as exc:
            raise NoAnswer(
                f"{' '.join(argv)}: no answer within {timeout or self.timeout:g}s",
                who=Path(argv[0]).name, waited=float(timeout or self.timeout),
            ) from exc
        except OSError as exc:
            raise TransportError(f"{argv[0]}: cannot run: {exc}") from exc
