"""A scripted event source: the follower's view of an engine, without the engine.

``ScriptedSource`` holds a workflow's initial snapshot and the events the engine would append.
Each ``events`` read makes a few more events visible, as a running workflow would; ``snapshot``
folds the visible ones, as the engine's stored state would say. A follower that attaches late
therefore starts from a snapshot, not from the first event.
"""

from __future__ import annotations

from cephflow.engine.state import Event, EventType, WorkflowSnapshot, _stream_id
from tests.cli.samples import T0, node, workflow


class ScriptedSource:
    def __init__(self, base: WorkflowSnapshot, events: list[Event], *, visible: int = 0,
                 per_read: int = 3, interrupt_after: int | None = None):
        self.base = base
        self.script = events
        self.visible = visible
        self.per_read = per_read
        self.interrupt_after = interrupt_after
        self.reads = 0
        self.snapshots = 0

    def snapshot(self, wf_id: str) -> WorkflowSnapshot:
        assert wf_id == self.base.id
        self.snapshots += 1
        snap = self.base.model_copy(deep=True)
        for event in self.script[: self.visible]:
            snap.apply(event)
        return snap

    def events(self, wf_id: str, after_id: str, block_ms: int, count: int) -> list[Event]:
        assert wf_id == self.base.id and block_ms > 0
        self.reads += 1
        if self.interrupt_after is not None and self.reads > self.interrupt_after:
            raise KeyboardInterrupt
        self.visible = min(self.visible + self.per_read, len(self.script))
        after = _stream_id(after_id)
        fresh = [e for e in self.script[: self.visible] if _stream_id(e.id) > after]
        return [e.model_copy() for e in fresh[:count]]


class StepClock:
    """A clock that moves ``step`` seconds each time it is read."""

    def __init__(self, start: float = T0, step: float = 0.05):
        self.now = start
        self.step = step
        self.slept = 0.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.slept += seconds
        self.now += seconds


def fanout_script(width: int = 6, *, fail: int | None = None,
                  end: str | None = None) -> tuple[WorkflowSnapshot, list[Event]]:
    """prepare -> fan-out ``work[i]`` (i < width) -> finish, plus a ``finally`` cleanup.

    ``fail``: the member that fails (the workflow then fails after cleanup).
    ``end``: force the workflow's final state (``cancelled``) after the fan-out.
    """
    nodes = [node("prepare")]
    nodes += [node(f"work[{i}]", "core.sleep", group="work", label=str(i), after=["prepare"])
              for i in range(width)]
    nodes += [node("finish", after=[f"work[{i}]" for i in range(width)]),
              node("cleanup", cleanup=True)]
    base = workflow(nodes, wf_id="c0ffee00aa11bb22")
    raw: list[tuple[EventType, dict]] = []

    def state(node_id: str, value: str, **kw) -> None:
        raw.append((EventType.NODE_STATE, dict(node=node_id, state=value, **kw)))

    state("prepare", "queued")
    state("prepare", "running")
    state("prepare", "succeeded")
    for i in range(width):
        state(f"work[{i}]", "queued")
    for i in range(width):
        nid = f"work[{i}]"
        state(nid, "running", attempt=1)
        raw.append((EventType.NODE_PROGRESS, dict(node=nid, detail=f"slept {i}s")))
        if i == fail:
            state(nid, "failed", error="StepFailed: disk on fire\nsecond line")
        else:
            state(nid, "succeeded")
    outcome = end or ("failed" if fail is not None else "succeeded")
    if outcome == "succeeded":
        state("finish", "queued")
        state("finish", "running")
        state("finish", "succeeded")
    else:
        state("finish", "cancelled")
        raw.append((EventType.WORKFLOW_STATE,
                    dict(state="failing" if outcome == "failed" else "cancelling")))
    state("cleanup", "running")
    state("cleanup", "succeeded")
    extra = {"node": f"work[{fail}]", "error": "StepFailed: disk on fire"} if outcome == "failed" else {}
    raw.append((EventType.WORKFLOW_STATE, dict(state=outcome, **extra)))
    events = [Event(id=f"{1_800_000_000_000 + i}-0", ts=T0 + 0.5 * (i + 1), type=kind, **fields)
              for i, (kind, fields) in enumerate(raw)]
    return base, events
