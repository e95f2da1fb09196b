"""``cephflow schedules`` as text: the table of schedules is a pure view, tested as golden text.

Times are shown in each schedule's own zone (with its abbreviation), the last outcome with
the workflow or the reason, a schedule that never fired says so, and the line above the
table says which scheduler leads, or that none runs.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from cephflow.cli.views.schedule_list import ScheduleList
from cephflow.engine.schedules import FireOutcome, ScheduleRecord
from cephflow.operations.schedules import Schedules, ScheduleView
from cephflow.settings import ScheduleSettings
from tests.cli.golden import golden, render

BERLIN = ZoneInfo("Europe/Berlin")
T = datetime(2026, 12, 3, 2, 30, tzinfo=BERLIN).timestamp()


def view(name: str, record: ScheduleRecord, **settings) -> ScheduleView:
    schedule = ScheduleSettings(**settings)
    return ScheduleView(name, schedule, record, schedule.next_after(T), dict(schedule.params))


SHOWN = Schedules([
    view("nightly", ScheduleRecord(fire=T, outcome=FireOutcome.SUBMITTED, workflow="3f2a9c1e"),
         runbook="reweight", cron="30 2 * * *", timezone="Europe/Berlin",
         window="01:00-05:00"),
    view("scrub", ScheduleRecord(fire=T - 60, outcome=FireOutcome.SKIPPED,
                                 reason="lock 'cluster' is held by workflow 9b1d"),
         runbook="scrub-check", cron="* * * * *"),
    view("new", ScheduleRecord(), runbook="demo", cron="0 0 1 * *"),
], leader="admin-1:4242:ab12", now=T)


def lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def test_the_table_shows_each_schedule_in_its_zone_with_its_last_outcome():
    assert lines(render(ScheduleList(SHOWN), width=180)) == golden("""
        scheduler admin-1:4242:ab12 leads
        schedule  runbook      cron                        window       next fire                last fire                outcome
        nightly   reweight     30 2 * * * (Europe/Berlin)  01:00-05:00  2026-12-04 02:30:00 CET  2026-12-03 02:30:00 CET  submitted 3f2a9c1e
        scrub     scrub-check  * * * * * (UTC)             -            2026-12-03 01:31:00 UTC  2026-12-03 01:29:00 UTC  skipped lock 'cluster' is held by workflow 9b1d
        new       demo         0 0 1 * * (UTC)             -            2027-01-01 00:00:00 UTC  -                        never fired
        """)


def test_on_a_narrower_terminal_the_outcome_folds_and_nothing_is_cut():
    shown = lines(render(ScheduleList(SHOWN), width=150))
    assert "skipped lock 'cluster' is held by" in shown and "workflow 9b1d" in shown
    assert "2026-12-04 02:30:00 CET" in shown  # the times stay whole


def test_no_scheduler_and_no_schedules_are_said_plainly():
    alone = Schedules(SHOWN.schedules[:1], leader=None, now=T)
    assert render(ScheduleList(alone), width=160).startswith(
        "no scheduler is running (start one with: cephflow scheduler)\n")
    assert render(ScheduleList(Schedules([], leader=None, now=T))).startswith(
        "no schedules are configured")
