"""One Ceph command described once, runnable by the CLI and by librados alike.

The ``ceph`` CLI takes words (``osd ok-to-stop 0 2``); librados takes the same command as JSON
(``{"prefix": "osd ok-to-stop", "ids": ["0", "2"]}``) sent to the mon or the mgr. A
``CephCommand`` holds both spellings so the client above never cares which backend runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class CephCommand:
    """A command: its words for the CLI, its JSON for librados, and which daemon answers it."""

    words: tuple[str, ...]
    """CLI words after ``ceph`` (without ``-f json``)."""
    args: dict[str, Any] = field(default_factory=dict)
    """JSON arguments besides ``prefix`` and ``format``."""
    target: Literal["mon", "mgr"] = "mon"
    prefix: str = ""
    """The command's prefix; derived from ``words`` when empty."""
    json_output: bool = True
    inbuf: str | None = None
    """Input (``-i -`` for the CLI)."""
    readonly: bool = True
    timeout: float | None = None
    """Seconds this command may take when it does host work (``orch daemon add osd``);
    None: the client's ``ceph.call_timeout``."""

    def __post_init__(self) -> None:
        if not self.prefix:
            object.__setattr__(self, "prefix", " ".join(self.words))

    def cli_argv(self) -> list[str]:
        argv = list(self.words)
        if self.inbuf is not None:
            argv += ["-i", "-"]
        if self.json_output:
            argv += ["-f", "json"]
        return argv

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"prefix": self.prefix, **self.args}
        if self.json_output:
            body["format"] = "json"
        return body


def cmd(prefix: str, *extra: str, target: Literal["mon", "mgr"] = "mon", readonly: bool = True,
        json_output: bool = True, inbuf: str | None = None, timeout: float | None = None,
        **args: Any) -> CephCommand:
    """Shorthand: ``cmd("osd ok-to-stop", "0", target="mgr", ids=["0"])``."""
    return CephCommand(
        words=(*prefix.split(), *extra),
        args=args,
        target=target,
        prefix=prefix,
        json_output=json_output,
        inbuf=inbuf,
        readonly=readonly,
        timeout=timeout,
    )
