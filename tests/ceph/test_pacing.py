"""The pacing rule over answers the lab's Ceph printed (tests/ceph/data): each signal holds a
step back on its own and says so, a cap given to the step wins over the settings, and the
recovery rate follows what the checks saw."""

from __future__ import annotations

import dataclasses

import pytest

from cephflow.ceph.models import OsdDump, PgList, parse_osd_df, parse_osd_perf
from cephflow.ceph.pacing import Caps, Rate, Signals, held_back
from cephflow.settings import PacingSettings, Settings
from tests.ceph.test_parsers import load

OPEN = Caps(max_misplaced=1.0, max_backfilling=1000, max_nearfull=100, max_commit_latency_ms=0)
"""Caps nothing in the recorded answers reaches: each test closes one of them."""


@pytest.fixture
def backfilling() -> Signals:
    """Mid-drain: 12 PGs backfilling, 7 waiting to, 14.6 % misplaced; latency read too."""
    return Signals.read(PgList.from_json(load("pg_ls_backfilling.json")),
                        OsdDump.from_json(load("osd_dump_backfilling.json")),
                        parse_osd_df(load("osd_df.json")), parse_osd_perf(load("osd_perf.json")))


def test_the_signals_are_read_from_cephs_answers(backfilling):
    assert backfilling.backfilling == 19  # backfilling and backfill_wait
    assert backfilling.misplaced_objects == 526 and backfilling.degraded_objects == 0
    assert backfilling.misplaced_ratio == pytest.approx(0.146, abs=0.001)
    assert backfilling.nearfull == {}  # the lab's OSDs are nearly empty
    assert backfilling.commit_latency_ms[3] == 41.0 and len(backfilling.commit_latency_ms) == 6


def test_nothing_over_its_cap_lets_the_step_go(backfilling):
    assert held_back(backfilling, OPEN) == []


def test_pgs_backfilling_over_the_cap_hold_the_step_and_are_counted(backfilling):
    assert held_back(backfilling, dataclasses.replace(OPEN, max_backfilling=18)) == [
        "19 PGs backfilling > 18"]
    assert held_back(backfilling, dataclasses.replace(OPEN, max_backfilling=19)) == []


def test_misplaced_over_the_cap_holds_the_step(backfilling):
    assert held_back(backfilling, dataclasses.replace(OPEN, max_misplaced=0.01)) == [
        "14.6% misplaced > 1.0%"]


def test_nearfull_osds_are_judged_by_the_osdmaps_ratio_and_named(backfilling):
    pgs = PgList.from_json(load("pg_ls_backfilling.json"))
    dump = dataclasses.replace(OsdDump.from_json(load("osd_dump_backfilling.json")),
                               nearfull_ratio=0.001)  # 0.1 %: two lab OSDs are over it
    signals = Signals.read(pgs, dump, parse_osd_df(load("osd_df.json")))
    assert sorted(signals.nearfull) == [1, 3]
    assert held_back(signals, dataclasses.replace(OPEN, max_nearfull=0)) == [
        "2 OSDs nearfull > 0 (osd.1 0%, osd.3 0%)"]
    assert held_back(signals, dataclasses.replace(OPEN, max_nearfull=2)) == []


def test_commit_latency_holds_only_when_asked_for(backfilling):
    assert held_back(backfilling, dataclasses.replace(OPEN, max_commit_latency_ms=40)) == [
        "commit latency 41 ms on osd.3 > 40 ms"]
    assert held_back(backfilling, dataclasses.replace(OPEN, max_commit_latency_ms=41)) == []
    assert held_back(backfilling, OPEN) == []  # 0: off, whatever the OSDs say
    assert not Caps().wants_latency and Caps(max_commit_latency_ms=5).wants_latency


def test_every_signal_over_its_cap_is_named_in_one_line(backfilling):
    caps = Caps(max_misplaced=0.05, max_backfilling=10, max_nearfull=0, max_commit_latency_ms=20)
    assert held_back(backfilling, caps) == [
        "14.6% misplaced > 5.0%", "19 PGs backfilling > 10", "commit latency 41 ms on osd.3 > 20 ms"]


def test_at_the_target_only_misplaced_objects_hold_the_done(backfilling):
    caps = Caps(max_misplaced=0.05, max_backfilling=0)
    assert held_back(backfilling, caps, stepping=False) == ["14.6% misplaced > 5.0%"]
    assert held_back(backfilling, dataclasses.replace(caps, max_misplaced=1.0), stepping=False) == []


def test_an_unpaced_move_waits_for_no_cap(backfilling):
    assert held_back(backfilling, Caps(max_misplaced=0, max_backfilling=0, paced=False)) == []
    assert not Caps(paced=False).wants_usage


def test_a_cap_given_to_the_step_wins_over_the_settings_and_omitted_ones_come_from_them():
    settings = PacingSettings(max_misplaced=0.02, max_backfilling=7, max_nearfull=1,
                              max_commit_latency_ms=30)
    caps = Caps.of(settings, max_backfilling=1, max_misplaced=None)
    assert caps == Caps(max_misplaced=0.02, max_backfilling=1, max_nearfull=1,
                        max_commit_latency_ms=30)
    assert Caps.of(settings, max_nearfull=0).max_nearfull == 0  # 0 is a value, not "omitted"
    with pytest.raises(ValueError, match="max_backfilling is negative"):
        Caps.of(settings, max_backfilling=-1)


def test_the_pacing_settings_default_and_come_from_the_environment(monkeypatch):
    assert Settings().pacing == PacingSettings(max_misplaced=0.01, max_backfilling=20,
                                               max_nearfull=0, max_commit_latency_ms=0)
    monkeypatch.setenv("CEPHFLOW_PACING__MAX_BACKFILLING", "3")
    monkeypatch.setenv("CEPHFLOW_PACING__MAX_COMMIT_LATENCY_MS", "50")
    assert Settings().pacing.max_backfilling == 3
    assert Settings().pacing.max_commit_latency_ms == 50


def test_the_rate_follows_what_the_checks_saw_and_gives_an_eta():
    rate = Rate().after(100.0, 1000)
    assert rate.per_second is None and rate.eta(1000) is None  # one look measures nothing
    rate = rate.after(110.0, 800)  # 20 copies a second
    assert rate.per_second == pytest.approx(20) and rate.eta(800) == pytest.approx(40)
    rate = rate.after(120.0, 700)  # 10 a second now: the estimate follows, smoothed
    assert rate.per_second == pytest.approx(15)
    # a new step adds work: the rate is kept, the measurement restarts from the new count
    stepped = rate.after(121.0, 1500)
    assert stepped.per_second == pytest.approx(15) and stepped.objects == 1500
    assert stepped.eta(1500) == pytest.approx(100)
    assert Rate.from_json(stepped.to_json()) == stepped and Rate.from_json(None) == Rate()
    assert Rate().eta(0) == 0.0  # nothing left is done, measured or not


def test_stats_that_have_not_moved_yet_do_not_read_as_a_stall():
    rate = Rate().after(100.0, 1000).after(110.0, 800)
    assert rate.after(111.0, 800) == rate  # the mgr's stats lag: wait for a longer look
    assert rate.after(116.0, 800).per_second == pytest.approx(10)  # then it did slow down


def test_osd_perf_is_read_in_the_shape_of_older_releases_too():
    older = {"osd_perf_infos": [{"id": 2, "perf_stats": {"commit_latency_ms": 7,
                                                         "apply_latency_ms": 5}}]}
    assert parse_osd_perf(older)[2].commit_latency_ms == 7.0
    assert parse_osd_perf(load("osd_perf.json"))[5].apply_latency_ms == 3.0
