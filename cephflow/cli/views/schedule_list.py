"""``cephflow schedules``: one row per configured schedule.

``ScheduleList(schedules)`` is a table of name, runbook, cron expression and time zone,
window, the last fire (its time in the schedule's zone, outcome, and the workflow or the
reason) and the next fire time, under a line saying which scheduler leads. Pure: the
operation's answer in, a table out.
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

from cephflow.engine.schedules import FireOutcome
from cephflow.operations.schedules import Schedules, ScheduleView

_COLUMNS = ("schedule", "runbook", "cron", "window", "last fire", "outcome", "next fire")
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
        table = Table(box=None, pad_edge=False, header_style="bold")
        for name in _COLUMNS:
            table.add_column(name, no_wrap=name != "outcome",
                             overflow="fold" if name == "outcome" else "ellipsis")
        for view in shown.schedules:
            s = view.settings
            table.add_row(Text(view.name, style="bold"), Text(s.runbook),
                          Text(f"{s.cron} ({s.timezone})"), Text(s.window or "-"),
                          Text(at(view, view.record.fire)), outcome(view),
                          Text(at(view, view.next)))
        yield Group(leader, table)
