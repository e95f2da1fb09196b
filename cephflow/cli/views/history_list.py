"""``cephflow history``: who did what to which workflow, and when, one row per action, oldest
first.

``HistoryList(entries)`` is a table of time (UTC, to the second: it is a record, not a
glance), user, action, workflow, runbook, step and detail, the detail last and cut first on a
narrow terminal. Pure: entries in, a table out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from cephflow.engine.state import HistoryEntry

_COLUMNS = ("time (UTC)", "user", "action", "workflow", "runbook", "step", "detail")


def when(ts: float) -> str:
    """``2026-12-02 16:40:01``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


class HistoryList:
    """A table of history entries, in the order given."""

    def __init__(self, entries: Sequence[HistoryEntry]):
        self.entries = entries

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.entries:
            yield Text("no history matches", style="dim")
            return
        rows = [(Text(when(e.ts)), Text(e.user), Text(e.action.value, style="bold"),
                 Text(e.workflow, style="cyan"), Text(e.runbook), Text(e.step), Text(e.detail))
                for e in self.entries]
        widths = [max([len(name), *(row[i].cell_len for row in rows)])
                  for i, name in enumerate(_COLUMNS)]
        others = sum(widths[:-1]) + 2 * (len(widths) - 1)
        # the detail is the one column that gives way on a narrow terminal
        widths[-1] = max(min(widths[-1], options.max_width - others), 6)
        table = Table(box=None, pad_edge=False, header_style="bold")
        for name, width in zip(_COLUMNS, widths, strict=True):
            table.add_column(name, no_wrap=True, overflow="ellipsis", width=width)
        for row in rows:
            table.add_row(*row)
        yield table
