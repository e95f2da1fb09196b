"""Pure logic of the monitoring package: matchers, durations, timestamps."""

from __future__ import annotations

import pytest

from cephflow.errors import MonitoringError
from cephflow.monitoring.matchers import normalise, parse_matcher, show
from cephflow.monitoring.times import epoch, iso, parse_duration


@pytest.mark.parametrize(("text", "expected"), [
    ('instance=~"ceph-osd-17.*"', ("instance", "ceph-osd-17.*", True, True)),
    ('ceph_daemon="osd.41"', ("ceph_daemon", "osd.41", False, True)),
    ("job != 'node'", ("job", "node", False, False)),
    ('severity!~"info|debug"', ("severity", "info|debug", True, False)),
    ('msg="say \\"hi\\""', ("msg", 'say "hi"', False, True)),
    ("host=ceph-osd-1", ("host", "ceph-osd-1", False, True)),
])
def test_matchers_parse_and_show_round_trip(text, expected):
    m = parse_matcher(text)
    assert (m["name"], m["value"], m["isRegex"], m["isEqual"]) == expected
    assert parse_matcher(show(m)) == m


@pytest.mark.parametrize("bad", ["instance", "=x", "9x=1", 'instance=""', "a ~ b"])
def test_bad_matchers_are_refused(bad):
    with pytest.raises(MonitoringError):
        parse_matcher(bad)


def test_a_downtime_needs_a_positive_matcher():
    with pytest.raises(MonitoringError, match="silence everything"):
        normalise(['job!="x"', 'a!~"b"'])
    assert normalise([{"name": "a", "value": "b"}]) == [
        {"name": "a", "value": "b", "isRegex": False, "isEqual": True}]


@pytest.mark.parametrize(("value", "seconds"), [
    (90, 90.0), ("5400", 5400.0), ("90m", 5400.0), ("1h30m", 5400.0), ("2d", 172800.0),
    ("1.5h", 5400.0), (0.5, 0.5),
])
def test_durations(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("bad", ["", "1x", "h", "-5", 0, "1h 30", "30mm"])
def test_bad_durations(bad):
    with pytest.raises(MonitoringError):
        parse_duration(bad)


def test_timestamps_round_trip_including_alertmanager_nanoseconds():
    assert iso(0) == "1970-01-01T00:00:00.000Z"
    assert epoch(iso(1764000000.25)) == 1764000000.25
    assert epoch("2025-11-24T16:00:00.123456789Z") == pytest.approx(1764000000.123456, abs=1e-5)
