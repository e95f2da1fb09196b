"""The one rich console cephflow prints through; tests replace it with a recording one."""

from __future__ import annotations

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def set_consoles(out: Console, err: Console | None = None) -> None:
    """Point cephflow's output at other consoles (tests, embedding)."""
    global console, err_console
    console = out
    err_console = err or out
