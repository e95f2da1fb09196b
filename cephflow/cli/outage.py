"""How the CLI shows that Redis is away: said once, then quiet until it is back or given up.

``SayOnce`` prints one warning on stderr when an outage starts and one line when it ends;
``follow``'s live view uses ``StatusLine`` instead, which keeps the latest word for a status
line under the tree. Neither prints a line per retry.
"""

from __future__ import annotations

from collections.abc import Callable

from cephflow.cli import console as c


def outage_text(reason: str, waited: float, patience: float) -> str:
    """What a person reads while Redis is away."""
    return (f"Redis unreachable for {waited:.0f}s ({reason}); "
            f"trying again for up to {patience:g}s")


class SayOnce:
    """One warning when Redis goes away, one line when it is back."""

    def __init__(self) -> None:
        self.away = False

    def down(self, *, what: str, reason: str, waited: float, patience: float) -> None:
        if not self.away:
            self.away = True
            c.err_console.print(f"warning: {outage_text(reason, waited, patience)}",
                                markup=False, highlight=False, soft_wrap=True)

    def up(self, *, waited: float) -> None:
        if self.away:
            self.away = False
            c.err_console.print(f"Redis is back after {waited:.1f}s", markup=False,
                                highlight=False, soft_wrap=True)


class StatusLine:
    """Keeps the outage's latest word in ``text`` (None while Redis answers); ``redraw``
    is called after each change, so the live view can show it at once."""

    def __init__(self, redraw: Callable[[], None]) -> None:
        self.text: str | None = None
        self.redraw = redraw

    def down(self, *, what: str, reason: str, waited: float, patience: float) -> None:
        self.text = outage_text(reason, waited, patience)
        self.redraw()

    def up(self, *, waited: float) -> None:
        self.text = None
        self.redraw()
