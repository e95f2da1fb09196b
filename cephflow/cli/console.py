"""The one rich console cephflow prints through; tests replace it with a recording one.

Whatever cephflow prints holds text it did not write: step ids (``work[item-0]``), reasons,
params, errors, a cluster's answers. rich would read ``[item-0]`` in them as a markup tag and
drop it, so cephflow's consoles never read markup: a ``str`` prints exactly as it is, and
styles come only from ``rich.text.Text`` objects the views build.

A closed pipe (``cephflow run demo | head -1``) is raised as ``BrokenPipeError`` for
``cli.app.main`` to end quietly with its documented status, not rich's silent exit 1.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """Say the pipe closed (rich would exit 1 on its own)."""
        self.quiet = True
        raise BrokenPipeError


def plain_console(**options: Any) -> Console:
    """A ``Console`` that prints strings literally (``markup=False``) and raises
    ``BrokenPipeError`` on a closed pipe; ``options`` as rich's."""
    return _Console(markup=False, **options)


console: Console = plain_console()
err_console: Console = plain_console(stderr=True)


def set_consoles(out: Console, err: Console | None = None) -> None:
    """Point cephflow's output at other consoles (tests, embedding)."""
    global console, err_console
    console = out
    err_console = err or out
