"""Redis going away while a workflow is followed: said once, shown as a status line under the
live tree (never a line per retry), and given up after ``redis_patience`` with exit status 5.

The engine's retry loop (``connection.call``) runs for real over a scripted source whose reads
fail while "Redis is down"; its clock is a fake one, so no test sleeps.
"""

from __future__ import annotations

import types

import pytest
import redis
from rich.console import Console

import cephflow.engine.connection as connection
from cephflow.cli import console as cli_console
from cephflow.cli.follow import follow
from cephflow.errors import ExitStatus, RedisUnreachable
from tests.cli.scripted import ScriptedSource, StepClock, fanout_script

PATIENCE = 5.0
STATUS = "Redis unreachable for"


class FakeTime:
    """``connection``'s clock: sleeping moves it on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


class FlakySource(ScriptedSource):
    """Reads through ``connection.call``; reads number ``down_from`` on fail ``failures`` times."""

    def __init__(self, *args, down_from: int, failures: int, **kw):
        super().__init__(*args, **kw)
        self.down_from = down_from
        self.failures = failures
        self.attempts = 0

    def events(self, wf_id, after_id, block_ms, count):
        def read():
            self.attempts += 1
            if self.reads + 1 >= self.down_from and self.failures > 0:
                self.failures -= 1
                raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6390. Refused.")
            return ScriptedSource.events(self, wf_id, after_id, block_ms, count)

        return connection.call(read, patience=PATIENCE, what="events")


@pytest.fixture
def fake_time(monkeypatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(connection, "time", types.SimpleNamespace(monotonic=fake.monotonic,
                                                                   sleep=fake.sleep))
    return fake


@pytest.fixture
def stderr(monkeypatch) -> Console:
    err = Console(color_system=None, width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    monkeypatch.setattr(cli_console, "err_console", err)
    return err


def follow_live(source: ScriptedSource) -> tuple[int, str]:
    console = Console(color_system=None, width=120, height=30, record=True,
                      force_terminal=True, file=open("/dev/null", "w"))  # noqa: SIM115
    clock = StepClock()
    code = follow(source, source.base.id, output="live", console=console, clock=clock,
                  sleep=clock.sleep, height=20)
    return code, console.export_text()


def test_a_short_outage_is_a_status_line_under_the_tree_then_gone(fake_time, stderr):
    base, events = fanout_script()
    source = FlakySource(base, events, down_from=3, failures=6)
    code, text = follow_live(source)
    assert code == ExitStatus.SUCCEEDED
    assert source.attempts > 6  # it did retry, through the real loop
    assert STATUS in text  # shown while it lasted ...
    assert "trying again for up to 5s" in text
    last_frame = text.split("drain-host  ·  ")[-1]  # each frame starts with the header
    assert STATUS not in last_frame  # ... and gone once Redis answered
    assert stderr.export_text() == ""  # not one line per retry, not even one line


def test_plain_output_says_it_once_and_when_it_is_back(fake_time, stderr):
    base, events = fanout_script()
    source = FlakySource(base, events, down_from=2, failures=6)
    console = Console(color_system=None, width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    clock = StepClock()
    code = follow(source, base.id, output="plain", console=console, clock=clock,
                  sleep=clock.sleep)
    assert code == ExitStatus.SUCCEEDED
    lines = stderr.export_text().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("warning: Redis unreachable for 0s (Error 111 connecting to ")
    assert lines[1].startswith("Redis is back after ")
    assert "Redis" not in console.export_text()  # the event lines stay clean


def test_redis_that_stays_away_ends_with_status_5_after_the_patience(fake_time, stderr):
    base, events = fanout_script()
    source = FlakySource(base, events, down_from=2, failures=10_000)
    with pytest.raises(RedisUnreachable) as caught:
        follow_live(source)
    assert caught.value.exit_code == ExitStatus.UNREACHABLE
    assert (str(caught.value), caught.value.where) == (
        "cannot reach Redis (tried for 5s)", "127.0.0.1:6390")
    assert fake_time.slept == pytest.approx(PATIENCE)  # bounded: it gave up on time
    assert connection._reporter.__class__ is connection.LogOnce  # the CLI's reporter is undone
