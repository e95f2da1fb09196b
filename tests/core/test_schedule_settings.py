"""``[schedules.<name>]``: what a schedule's cron expression, zone and window mean.

Pure: every answer is for an epoch time given (no clock), so the fire times across a
daylight saving change, a window that spans midnight and the checks of bad values are
exact.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from cephflow.settings import Overlap, ScheduleSettings, Settings

BERLIN = ZoneInfo("Europe/Berlin")


def epoch(*args: int, zone=UTC) -> float:
    return datetime(*args, tzinfo=zone).timestamp()


def test_a_daily_fire_time_is_read_in_the_zone_across_daylight_saving():
    nightly = ScheduleSettings(runbook="x", cron="0 3 * * *", timezone="Europe/Berlin")
    before = nightly.next_after(epoch(2026, 3, 27, 12, zone=BERLIN))
    after = nightly.next_after(before)
    assert datetime.fromtimestamp(before, BERLIN) == datetime(2026, 3, 28, 3, tzinfo=BERLIN)
    assert datetime.fromtimestamp(after, BERLIN) == datetime(2026, 3, 29, 3, tzinfo=BERLIN)
    assert after - before == 23 * 3600  # the night the clocks went forward


def test_seconds_are_a_sixth_field_and_fire_times_are_whole_seconds():
    every_two = ScheduleSettings(runbook="x", cron="* * * * * */2")
    t = epoch(2026, 12, 3, 7, 0, 0)
    assert every_two.next_after(t) == t + 2
    assert every_two.next_after(t - 0.5) == t
    assert every_two.last_until(t) == t
    assert every_two.last_until(t + 1.9) == t
    assert every_two.last_until(t - 0.1) == t - 2


def test_a_window_may_span_midnight_and_is_read_in_the_zone():
    night = ScheduleSettings(runbook="x", cron="* * * * *", timezone="Europe/Berlin",
                             window="22:00-04:00")
    assert night.in_window(epoch(2026, 12, 3, 23, 30, zone=BERLIN))
    assert night.in_window(epoch(2026, 12, 3, 0, 0, zone=BERLIN))
    assert not night.in_window(epoch(2026, 12, 3, 4, 0, zone=BERLIN))  # the end is not in it
    assert not night.in_window(epoch(2026, 12, 3, 12, 0, zone=BERLIN))
    assert not night.in_window(epoch(2026, 12, 3, 3, 30))  # 04:30 in Berlin, not UTC's 03:30
    day = ScheduleSettings(runbook="x", cron="* * * * *", window="09:00-17:00")
    assert day.in_window(epoch(2026, 12, 3, 9, 0)) and not day.in_window(epoch(2026, 12, 3, 17))
    assert ScheduleSettings(runbook="x", cron="* * * * *").in_window(0.0)


def test_defaults_are_utc_no_window_and_one_run_at_a_time():
    schedule = ScheduleSettings(runbook="x", cron="* * * * *")
    assert (schedule.timezone, schedule.window, schedule.overlap) == ("UTC", None, Overlap.SKIP)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("cron", "* * *", "not a cron expression"),
    ("cron", "0 25 * * *", "not a cron expression"),
    ("timezone", "Europe/Atlantis", "unknown time zone"),
    ("timezone", "../etc/passwd", "unknown time zone"),
    ("window", "9:00-17:00", "not a window"),
    ("window", "09:00-24:00", "not a window"),
    ("window", "09:00-09:00", "is empty"),
    ("overlap", "queue", "Input should be 'skip' or 'allow'"),
])
def test_bad_values_name_what_is_wrong(field, value, message):
    given = {"runbook": "x", "cron": "* * * * *", field: value}
    with pytest.raises(ValidationError) as caught:
        ScheduleSettings(**given)
    assert caught.value.errors()[0]["loc"] == (field,)
    assert message in str(caught.value)


def test_schedules_can_come_from_the_environment_as_json(monkeypatch):
    monkeypatch.setenv("CEPHFLOW_SCHEDULES",
                       '{"nightly": {"runbook": "demo", "cron": "0 2 * * *", '
                       '"params": {"items": 2}}}')
    nightly = Settings().schedules["nightly"]
    assert (nightly.runbook, nightly.params) == ("demo", {"items": 2})
