"""``cephflow schedules``: one row per configured schedule.

``ScheduleList(schedules)`` is a table of name, runbook, cron expression and time zone,
window, the next fire time and the last one (in the schedule's zone, to the second), and the
last outcome with the workflow or the reason, last: the one column that folds on a narrow
terminal. A line above it says which scheduler leads. Pure: the operation's answer in, a
table out.
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

from cephflow.engine.schedules import FireOutcome
from cephflow.operations.schedules import Schedules, ScheduleView

_COLUMNS = ("schedule", "runbook", "cron", "window", "next fire", "last fire", "outcome")
_STYLES = {FireOutcome.SUBMITTED: "green", FireOutcome.SKIPPED: "yellow",
           FireOutcome.MISSED: "yellow", FireOutcome.FAILED: "red"}


def at(view: ScheduleView, epoch: float | None) -> str:
    """``2026-12-03 08:00:05 CET``: in the schedule's zone, to the second."""
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, view.settings.zone()).strftime("%Y-%m-%d %H:%M:%S %Z")


def outcome(view: ScheduleView) -> Text:
    record = view.record
    if record.outcome is None:
        return Text("never fired", style="dim")
    text = Text(record.outcome.value, style=_STYLES[record.outcome])
    detail = record.workflow or record.reason
    if detail:
        text.append(f" {detail}")
    return text


class ScheduleList:
    """The schedules, by name, and who leads."""

    def __init__(self, schedules: Schedules):
        self.schedules = schedules

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        shown = self.schedules
        if not shown.schedules:
            yield Text("no schedules are configured ([schedules.<name>] in the config file)",
                       style="dim")
            return
        leader = (Text(f"scheduler {shown.leader} leads") if shown.leader
                  else Text("no scheduler is running (start one with: cephflow scheduler)",
                            style="yellow"))
        rows = [(Text(view.name, style="bold"), Text(view.settings.runbook),
                 Text(f"{view.settings.cron} ({view.settings.timezone})"),
                 Text(view.settings.window or "-"), Text(at(view, view.next)),
                 Text(at(view, view.record.fire)), outcome(view))
                for view in shown.schedules]
        widths = [max([len(name), *(row[i].cell_len for row in rows)])
                  for i, name in enumerate(_COLUMNS)]
        others = sum(widths[:-1]) + 2 * (len(widths) - 1)
        widths[-1] = max(min(widths[-1], options.max_width - others), 12)
        table = Table(box=None, pad_edge=False, header_style="bold")
        for name, width in zip(_COLUMNS, widths, strict=True):
            last = name == _COLUMNS[-1]
            table.add_column(name, no_wrap=not last, overflow="fold" if last else "ellipsis",
                             width=width)
        for row in rows:
            table.add_row(*row)
        yield Group(leader, table)
