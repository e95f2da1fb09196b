"""Follow a workflow, the data side: its snapshot, moved forward by its event stream.

A ``Follower`` reads the snapshot once, then only the events (``XREAD BLOCK`` through the
engine's client), folding each into the snapshot with ``WorkflowSnapshot.apply``. It never
re-reads the whole workflow, so following 10,000 nodes costs what the events cost. How often
to read and how to show it is the front end's business (``cephflow.cli.follow``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from cephflow.engine.state import Event, WorkflowSnapshot

BATCH = 2000
"""Events read per call: large enough that a busy stream is read in few round trips."""


class EventSource(Protocol):
    """What a follower needs from the engine's client."""

    def snapshot(self, wf_id: str) -> WorkflowSnapshot: ...

    def events(self, wf_id: str, after_id: str, block_ms: int, count: int) -> list[Event]: ...


class Follower:
    """One workflow's snapshot, moved forward by its event stream.

    Args:
        source: the engine's client (or anything with ``snapshot`` and ``events``).
        wf_id: the full workflow id.
        batch: at most this many events per read (default ``BATCH``).
    """

    def __init__(self, source: EventSource, wf_id: str, *, batch: int | None = None):
        self.source = source
        self.wf_id = wf_id
        self.batch = batch or BATCH
        self.snapshot: WorkflowSnapshot = source.snapshot(wf_id)

    @property
    def done(self) -> bool:
        return self.snapshot.state.terminal

    def poll(self, block_ms: int, on_event: Callable[[Event], None] | None = None) -> int:
        """Read the next events (waiting up to ``block_ms`` for the first) and fold them in.

        ``on_event`` is called after each event is folded, so it sees the state that event made.
        Returns how many events were read.
        """
        events = self.source.events(self.wf_id, self.snapshot.last_event_id, block_ms, self.batch)
        for event in events:
            self.snapshot.apply(event)
            if on_event is not None:
                on_event(event)
        return len(events)
