"""The one rich console cephflow prints through; tests replace it with a recording one.

Whatever cephflow prints holds text it did not write: step ids (``work[item-0]``), reasons,
params, errors, a cluster's answers. rich would read ``[item-0]`` in them as a markup tag and
drop it, so cephflow's consoles never read markup: a ``str`` prints exactly as it is, and
styles come only from ``rich.text.Text`` objects the views build.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console


def plain_console(**options: Any) -> Console:
    """A ``Console`` that prints strings literally (``markup=False``); ``options`` as rich's."""
    return Console(markup=False, **options)


console = plain_console()
err_console = plain_console(stderr=True)


def set_consoles(out: Console, err: Console | None = None) -> None:
    """Point cephflow's output at other consoles (tests, embedding)."""
    global console, err_console
    console = out
    err_console = err or out
