"""The one rich console cephflow prints through; tests replace it with a recording one.

A closed pipe (``cephflow run demo | head -1``) is raised as ``BrokenPipeError`` for
``cli.app.main`` to end quietly with its documented status, not rich's silent exit 1.
"""

from __future__ import annotations

from rich.console import Console


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """Say the pipe closed (rich would exit 1 on its own)."""
        self.quiet = True
        raise BrokenPipeError


console: Console = _Console()
err_console: Console = _Console(stderr=True)


def set_consoles(out: Console, err: Console | None = None) -> None:
    """Point cephflow's output at other consoles (tests, embedding)."""
    global console, err_console
    console = out
    err_console = err or out
