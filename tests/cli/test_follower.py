"""The follower folds a scripted event stream; its outputs and exit statuses."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

import cephflow.cli.follow as follow_module
import cephflow.operations.follow as follower_module
from cephflow.cli.follow import follow
from cephflow.engine.state import Event, EventType, WorkflowState
from cephflow.operations.follow import Follower
from tests.cli.golden import golden
from tests.cli.samples import node, workflow
from tests.cli.scripted import ScriptedSource, StepClock, fanout_script


def recorder(width: int = 100, *, terminal: bool = False) -> Console:
    """A recording console; a terminal one records every frame Live draws (in order)."""
    return Console(color_system=None, width=width, height=30, record=True, force_terminal=terminal,
                   file=open("/dev/null", "w"))  # noqa: SIM115


@pytest.fixture
def frames(monkeypatch) -> list[float]:
    """The ``now`` of every frame the live view draws, in order (``LiveView`` patched to count)."""
    drawn: list[float] = []

    class CountingView(follow_module.LiveView):
        def __init__(self, snapshot, *, now, height=None):
            drawn.append(now)
            super().__init__(snapshot, now=now, height=height)

    monkeypatch.setattr(follow_module, "LiveView", CountingView)
    return drawn


def run(source: ScriptedSource, output: str, **kw) -> tuple[int, str]:
    console = recorder(terminal=output == "live")
    clock = StepClock()
    code = follow(source, source.base.id, output=output, console=console, clock=clock,
                  sleep=clock.sleep, height=20, **kw)
    return code, console.export_text()


@pytest.mark.parametrize(("kw", "state", "code"), [
    ({}, WorkflowState.SUCCEEDED, 0),
    ({"fail": 2}, WorkflowState.FAILED, 1),
    ({"end": "cancelled"}, WorkflowState.CANCELLED, 4),
])
def test_exit_status_says_how_the_workflow_ended(kw, state, code):
    base, events = fanout_script(**kw)
    got, text = run(ScriptedSource(base, events), "live")
    assert got == code
    assert text.splitlines()[-1].startswith(f"{'✓✗⊘'[code and (code == 4) + 1]} workflow "
                                            f"c0ffee00aa11bb22 {state.value} after 16s")


def test_a_late_follower_ends_in_the_same_state_and_view_as_one_from_the_start():
    base, events = fanout_script(fail=3)
    early = ScriptedSource(base, events, visible=0)
    late = ScriptedSource(base, events, visible=len(events) // 2)
    first, second = Follower(early, base.id), Follower(late, base.id)
    assert first.snapshot != second.snapshot
    for follower in (first, second):
        while not follower.done:
            follower.poll(100)
    assert first.snapshot == second.snapshot
    assert first.snapshot.nodes["work[3]"].error == "StepFailed: disk on fire\nsecond line"
    assert first.snapshot.nodes["work[4]"].detail == "slept 4s"
    assert late.reads < early.reads
    code_a, text_a = run(ScriptedSource(base, events), "live")
    code_b, text_b = run(ScriptedSource(base, events, visible=len(events) // 2), "live")
    final_frame = golden("""
        ✗ drain-host c0ffee00  failed  at work[3]
        ├── ✓ prepare  0.5s
        ├── ✗ work     5/6 ✓  1 failed  8.5s
        │   └── ✗ 3    1.0s  slept 3s
        │         StepFailed: disk on fire
        │         second line
        ├── ⊘ finish
        └── ✓ cleanup  0.5s  (finally)
        ✗ workflow c0ffee00aa11bb22 failed after 16s at work[3]: StepFailed: disk on fire
        """)
    assert (code_a, code_b) == (1, 1)
    assert text_a.endswith(final_frame) and text_b.endswith(final_frame)
    assert text_a.count("drain-host  ·  c0ffee00") > text_b.count("drain-host  ·  c0ffee00")


def test_live_on_a_console_that_is_no_terminal_prints_plain_lines():
    base, events = fanout_script()
    console = recorder()
    clock = StepClock()
    assert follow(ScriptedSource(base, events), base.id, output="live", console=console,
                  clock=clock, sleep=clock.sleep) == 0
    lines = console.export_text().splitlines()
    assert lines[1] == "2027-01-15T08:00:00Z  prepare  queued"
    assert len(lines) == len(events) + 2


def test_the_snapshot_is_read_once_and_redelivered_events_are_not_counted_twice():
    base, events = fanout_script()

    class Redelivering(ScriptedSource):
        def events(self, wf_id, after_id, block_ms, count):
            fresh = super().events(wf_id, after_id, block_ms, count)
            older = [e for e in self.script[: self.visible] if e not in fresh][-2:]
            return older + fresh

    source = Redelivering(base, events, per_read=5)
    follower = Follower(source, base.id)
    while not follower.done:
        follower.poll(100)
    assert source.snapshots == 1
    assert follower.snapshot.nodes["prepare"].ended_at == events[2].ts
    assert follower.snapshot.last_event_id == events[-1].id


def test_ctrl_c_detaches_with_status_130_and_a_reattach_hint():
    base, events = fanout_script()
    code, text = run(ScriptedSource(base, events, interrupt_after=4), "live")
    assert code == 130
    assert text.splitlines()[-1] == (
        "detached: workflow c0ffee00aa11bb22 keeps running (running); "
        "re-attach with: cephflow status c0ffee00aa11bb22")


def test_ctrl_c_while_reading_the_snapshot_still_detaches_cleanly():
    base, events = fanout_script()

    class Slow(ScriptedSource):
        def snapshot(self, wf_id):
            raise KeyboardInterrupt

    code, text = run(Slow(base, events), "plain")
    assert code == 130
    assert text == ("detached: workflow c0ffee00aa11bb22 keeps running; "
                    "re-attach with: cephflow status c0ffee00aa11bb22\n")


def test_plain_output_is_one_timestamped_line_per_event():
    base, events = fanout_script(fail=1)
    code, text = run(ScriptedSource(base, events), "plain")
    lines = text.splitlines()
    assert code == 1
    assert lines[0] == ("2027-01-15T08:00:00Z  workflow c0ffee00aa11bb22 drain-host  "
                        "host=ceph-osd-17  running  0/9 steps ended")
    assert lines[1:4] == [
        "2027-01-15T08:00:00Z  prepare  queued",
        "2027-01-15T08:00:01Z  prepare  running",
        "2027-01-15T08:00:01Z  prepare  succeeded  0.5s",
    ]
    assert "2027-01-15T08:00:07Z  work[1]  failed  1.0s  StepFailed: disk on fire" in lines
    assert "2027-01-15T08:00:07Z  work[1]  slept 1s" in lines
    assert lines[-2] == "2027-01-15T08:00:16Z  workflow c0ffee00 failed at work[1]: StepFailed: disk on fire"
    assert lines[-1] == ("✗ workflow c0ffee00aa11bb22 failed after 16s at work[1]: "
                         "StepFailed: disk on fire")
    assert len(lines) == len(events) + 2


def test_json_output_is_where_it_stands_then_the_events_as_json_lines():
    base, events = fanout_script()
    code, text = run(ScriptedSource(base, events), "json")
    assert code == 0
    first, *rest = text.splitlines()
    assert json.loads(first) == {
        "type": "attached", "workflow": "c0ffee00aa11bb22", "runbook": "drain-host",
        "state": "running", "steps": 9, "steps_ended": 0,
        "counts": {"pending": 9, "queued": 0, "running": 0, "succeeded": 0, "failed": 0,
                   "skipped": 0, "cancelled": 0},
        "open_gates": [], "last_event_id": "0-0"}
    assert [Event.model_validate(json.loads(line)) for line in rest] == events


def gate_script() -> tuple[ScriptedSource, list[Event]]:
    """A workflow whose gate ``swap[osd.4]`` already waits when the follower attaches."""
    gate = node("swap[osd.4]", "core.approval", state="running", group="swap", label="osd.4",
                attempt=1, detail="waiting for approval (anyone): cephflow approve c0ffee00aa11bb22 "
                "'swap[osd.4]'")
    gate.args = {"approvers": ["dc-lead", "@ops"]}
    base = workflow([node("prepare", state="succeeded"), gate,
                     node("after", after=["swap[osd.4]"])], wf_id="c0ffee00aa11bb22")
    raw = [dict(node="swap[osd.4]", state="succeeded"), dict(node="after", state="running"),
           dict(node="after", state="succeeded"), dict(state="succeeded")]
    events = [Event(id=f"{1_800_000_000_000 + i}-0", ts=base.submitted_at + i + 1,
                    type=EventType.WORKFLOW_STATE if "node" not in f else EventType.NODE_STATE,
                    **f) for i, f in enumerate(raw)]
    return ScriptedSource(base, events), events


def test_plain_output_starts_with_the_gates_that_already_wait_and_their_commands():
    source, _ = gate_script()
    code, text = run(source, "plain")
    lines = text.splitlines()
    assert code == 0
    assert lines[0].endswith("workflow c0ffee00aa11bb22 drain-host  host=ceph-osd-17  running  "
                             "1/3 steps ended")
    assert lines[1].endswith("  swap[osd.4]  waits for approval (dc-lead, @ops): "
                             "cephflow approve c0ffee00aa11bb22 'swap[osd.4]'")
    assert lines[2].endswith("  swap[osd.4]  succeeded")


def test_json_output_starts_with_the_gates_that_already_wait():
    source, events = gate_script()
    code, text = run(source, "json")
    first, *rest = text.splitlines()
    assert code == 0
    start = json.loads(first)
    assert (start["state"], start["steps_ended"], start["counts"]["running"]) == ("running", 1, 1)
    assert start["open_gates"] == [{
        "node": "swap[osd.4]", "step": "swap", "approvers": ["dc-lead", "@ops"],
        "approve": "cephflow approve c0ffee00aa11bb22 'swap[osd.4]'",
        "reject": "cephflow reject c0ffee00aa11bb22 'swap[osd.4]'"}]
    assert [Event.model_validate(json.loads(line)) for line in rest] == events


def test_quiet_output_is_only_the_outcome():
    base, events = fanout_script(end="cancelled")
    code, text = run(ScriptedSource(base, events), "quiet")
    assert (code, text) == (4, "⊘ workflow c0ffee00aa11bb22 cancelled after 16s\n")


def test_following_a_finished_workflow_reads_no_events():
    base, events = fanout_script()
    source = ScriptedSource(base, events, visible=len(events))
    code, text = run(source, "plain")
    assert (code, source.reads) == (0, 0)
    assert text.splitlines()[-1] == "✓ workflow c0ffee00aa11bb22 succeeded after 16s"


def test_the_live_view_is_redrawn_at_a_bounded_rate(frames):
    base, events = fanout_script(width=200)
    clock = StepClock(step=0.01)
    source = ScriptedSource(base, events, per_read=1)
    code = follow(source, base.id, output="live", console=recorder(terminal=True), clock=clock,
                  sleep=clock.sleep, max_fps=4, height=20)
    assert code == 0
    assert source.reads == len(events)
    elapsed = clock.now - frames[0]
    assert len(frames) <= elapsed * 4 / 0.8 + 3
    assert len(frames) >= elapsed * 4 / 2
    # caught up after every read: it napped to the next frame instead of reading again at once
    assert clock.slept >= 0.2 * (source.reads - 1)


def test_a_follower_behind_the_stream_reads_on_without_napping(monkeypatch):
    base, events = fanout_script(width=200)
    clock = StepClock(step=0.01)
    source = ScriptedSource(base, events, per_read=len(events))
    monkeypatch.setattr(follower_module, "BATCH", 100)
    code = follow(source, base.id, output="quiet", console=recorder(), clock=clock,
                  sleep=clock.sleep)
    assert code == 0
    assert clock.slept == 0 and source.reads == -(-len(events) // 100)


def test_an_unknown_output_is_refused():
    base, events = fanout_script()
    with pytest.raises(ValueError, match="output must be one of"):
        follow(ScriptedSource(base, events), base.id, output="fancy")


def test_a_frame_that_is_slow_to_draw_spaces_the_next_ones_out(frames, monkeypatch):
    base, events = fanout_script(width=200)
    ticks = iter(range(10**6))
    # every frame "takes" 0.1 s to draw: frames must then be >= 1 s apart, not 0.25 s
    monkeypatch.setattr(follow_module.time, "perf_counter", lambda: next(ticks) * 0.1)
    clock = StepClock(step=0.01)
    source = ScriptedSource(base, events, per_read=1)
    assert follow(source, base.id, output="live", console=recorder(terminal=True), clock=clock,
                  sleep=clock.sleep, max_fps=4, height=20) == 0
    gaps = [b - a for a, b in zip(frames[1:-2], frames[2:-1], strict=True)]
    assert gaps and min(gaps) >= 0.8
