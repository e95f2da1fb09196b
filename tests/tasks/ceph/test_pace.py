"""The shared pacing of a weight step, over answers the lab's Ceph printed: the caps in force
(the step's, else the settings'), the words of a held step, the movement progress it keeps.
No cluster: a client that answers from tests/ceph/data."""

from __future__ import annotations

import pytest

from cephflow.ceph.models import OsdDump, PgList, parse_osd_df, parse_osd_perf
from cephflow.engine.context import MemoryBackend, NotYet, StepContext
from cephflow.settings import PacingSettings, Settings
from cephflow.tasks.ceph.pace import await_settled, caps_for
from tests.ceph.test_parsers import load

WEIGHTS = {4: 0.00024}
TARGETS = {4: 0.0}


class Answers:
    """The reads ``await_settled`` makes, answered mid-drain (19 PGs backfilling, 14.6 %
    misplaced); counts which it asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def osd_dump(self) -> OsdDump:
        self.asked.append("osd dump")
        return OsdDump.from_json(load("osd_dump_backfilling.json"))

    def pg_ls(self) -> PgList:
        self.asked.append("pg ls")
        return PgList.from_json(load("pg_ls_backfilling.json"))

    def osd_df(self):
        self.asked.append("osd df")
        return parse_osd_df(load("osd_df.json"))

    def osd_perf(self):
        self.asked.append("osd perf")
        return parse_osd_perf(load("osd_perf.json"))


def context(**pacing) -> tuple[StepContext, MemoryBackend]:
    backend = MemoryBackend()
    settings = Settings(pacing=PacingSettings(**pacing))
    return StepContext("wf", "drain", backend, settings=settings), backend


def held(ctx: StepContext, client: Answers, **given) -> str:
    with pytest.raises(NotYet) as wait:
        await_settled(ctx, client, what="osd.4", weights=WEIGHTS, targets=TARGETS,
                      caps=caps_for(ctx, **given), settle=0)
    return wait.value.detail


def test_a_step_is_held_by_the_settings_caps_and_says_which_signal():
    ctx, backend = context(max_misplaced=1.0, max_backfilling=18)
    assert held(ctx, Answers()) == "osd.4 weight 0.00024: waiting: 19 PGs backfilling > 18"
    _, _, line, data = backend.progress[-1]
    movement = data["progress"]["movement"]
    assert line.endswith("19 PGs backfilling > 18")
    assert movement["osds"] == {"4": {"weight": 0.00024, "target": 0.0, "start": 0.00024}}
    assert movement["misplaced_objects"] == 526 and movement["signals"]["backfilling"] == 19
    assert movement["caps"]["max_backfilling"] == 18
    assert movement["waiting"] == ["waiting: 19 PGs backfilling > 18"]
    assert movement["eta_seconds"] is None  # one look measures no rate


def test_a_cap_given_to_the_step_wins_over_the_settings():
    ctx, _ = context(max_misplaced=1.0, max_backfilling=18)
    client = Answers()
    # the step's own cap lets it go where the setting would hold it
    await_settled(ctx, client, what="osd.4", weights=WEIGHTS, targets=TARGETS,
                  caps=caps_for(ctx, max_backfilling=19), settle=0)
    assert "osd perf" not in client.asked  # latency is off: not even read
    assert held(ctx, Answers(), max_misplaced=0.05) == (
        "osd.4 weight 0.00024: waiting: 14.6% misplaced > 5.0%, 19 PGs backfilling > 18")


def test_latency_is_read_and_holds_only_when_capped():
    ctx, _ = context(max_misplaced=1.0, max_backfilling=100, max_commit_latency_ms=40)
    client = Answers()
    assert held(ctx, client) == "osd.4 weight 0.00024: waiting: commit latency 41 ms on osd.3 > 40 ms"
    assert "osd perf" in client.asked


def test_an_unpaced_step_waits_for_no_cap_and_reads_no_usage():
    ctx, _ = context(max_misplaced=0.0, max_backfilling=0)
    client = Answers()
    await_settled(ctx, client, what="osd.4", weights=WEIGHTS, targets=TARGETS,
                  caps=caps_for(ctx, paced=False), settle=0)
    assert client.asked == ["osd dump", "pg ls"]


def test_a_negative_cap_fails_the_step_naming_it():
    from cephflow.errors import StepFailed

    ctx, _ = context()
    with pytest.raises(StepFailed, match="max_nearfull is negative"):
        caps_for(ctx, max_nearfull=-1)
