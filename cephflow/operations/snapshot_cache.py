"""One built snapshot per workflow for a server's many readers: ``SnapshotCache``.

Reading a 10,000-node workflow costs about half a second of one core (Python, one GIL), and
encoding it as JSON (14 MB) a tenth more; a server that builds it per call makes 50 callers
wait for each other's builds. The cache keeps the last build of each workflow with the
event id it is consistent with (``WorkflowReader.version``). Every change to a workflow
appends an event in the same script that makes the change, so a build is reused while its
id is still the stream's last, and a change is visible at the next call: each call asks
Redis for the last id first (one round trip).

Callers of one workflow that find no current build wait for the one build in flight
(single flight) without holding a thread; the build runs in a worker thread, so the event
loop goes on serving other calls meanwhile.

One field changes without an event: a queued node's ``queued_since`` comes from its lease,
which a worker's reconciler renews. A build older than ``max_age`` is built again in the
background while callers still get it, so that field is at most that much older than a
fresh read; everything else is as fresh as the last event.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from anyio import to_thread

from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import NodeSnapshot, WorkflowSnapshot
from cephflow.operations import steps

T = TypeVar("T")

MAX_AGE = 5.0
"""Seconds a build is served before it is built again in the background (leases only;
``api.snapshot_max_age``)."""
KEPT = 8
"""Workflows whose last build is kept (the least recently asked for goes first)."""
GZIP_LEVEL = 1
"""Fast: a snapshot's JSON repeats itself so much that level 1 already shrinks it tenfold."""


def event_key(event_id: str) -> tuple[int, int]:
    """A stream id (``1700000000000-3``) as a tuple that orders like the stream does."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(eq=False)
class Built:
    """One build of a workflow: its snapshot (shared: never change it) and its JSON."""

    snapshot: WorkflowSnapshot
    built_at: float
    """``time.monotonic()`` when the read began."""
    encoding: asyncio.Future[bytes] | None = field(default=None, repr=False)
    compressing: asyncio.Future[bytes] | None = field(default=None, repr=False)

    @property
    def version(self) -> str:
        return self.snapshot.last_event_id


async def _in_thread(fn: Callable[[], T]) -> T:
    return await to_thread.run_sync(fn)


class SnapshotCache:
    """The last build of each workflow, rebuilt once per change, one build at a time.

    Args:
        client: the engine's client the builds read through.
        max_age: seconds before a build is refreshed in the background (default ``MAX_AGE``).
        kept: workflows kept (default ``KEPT``).
    """

    def __init__(self, client: WorkflowClient, *, max_age: float = MAX_AGE,
                 kept: int = KEPT):
        self.client = client
        self.max_age = max_age
        self.kept = kept
        self.builds = 0
        """Builds made so far (what a test counts)."""
        self._built: OrderedDict[str, Built] = OrderedDict()
        self._flights: dict[str, asyncio.Task[Built]] = {}

    async def get(self, workflow_id: str) -> Built:
        """Workflow ``workflow_id`` (an id or a unique prefix) as of its last event."""

        def probe() -> tuple[str, str]:
            wf = self.client.resolve_id(workflow_id)
            return wf, self.client.version(wf)

        wf, version = await _in_thread(probe)
        built = self._built.get(wf)
        if built is not None and event_key(built.version) >= event_key(version):
            self._built.move_to_end(wf)
            if time.monotonic() - built.built_at > self.max_age and wf not in self._flights:
                self._flight(wf)  # refreshed in the background; this caller is not kept waiting
            return built
        while True:
            # a flight that has landed but whose callback has not run yet still answers
            flight = self._flights.get(wf) or self._flight(wf)
            built = await asyncio.shield(flight)
            if event_key(built.version) >= event_key(version):
                return built
            # that build began before the change this caller saw: the next pass builds again
            if self._flights.get(wf) is flight:
                del self._flights[wf]

    async def json(self, built: Built) -> bytes:
        """``built``'s snapshot as JSON (encoded once, in a thread)."""
        if built.encoding is None:
            built.encoding = asyncio.ensure_future(
                _in_thread(lambda: built.snapshot.model_dump_json().encode()))
        return await asyncio.shield(built.encoding)

    async def gzipped(self, built: Built) -> bytes:
        """``built``'s JSON, gzip-compressed once (a 10,000-node snapshot: 14 MB, gzipped
        under a tenth of that), for the callers that accept it."""
        if built.compressing is None:
            async def compress() -> bytes:
                text = await self.json(built)
                return await _in_thread(lambda: gzip.compress(text, GZIP_LEVEL, mtime=0))

            built.compressing = asyncio.ensure_future(compress())
        return await asyncio.shield(built.compressing)

    async def step(self, workflow_id: str, name: str) -> NodeSnapshot:
        """The node ``name`` means in the workflow (``steps.find_node``), a copy of it with
        its output read in."""
        built = await self.get(workflow_id)
        node_id = steps.find_node(built.snapshot, name)
        node = built.snapshot.nodes[node_id].model_copy()
        node.output = await _in_thread(lambda: self.client.output(built.snapshot.id, node_id))
        return node

    def _flight(self, wf: str) -> asyncio.Task[Built]:
        task = asyncio.ensure_future(self._build(wf))
        self._flights[wf] = task
        task.add_done_callback(lambda t: self._landed(wf, t))
        return task

    async def _build(self, wf: str) -> Built:
        self.builds += 1
        started = time.monotonic()
        snapshot = await _in_thread(lambda: self.client.snapshot(wf))
        return Built(snapshot, started)

    def _landed(self, wf: str, task: asyncio.Task[Built]) -> None:
        if self._flights.get(wf) is task:
            del self._flights[wf]
        if task.cancelled() or task.exception() is not None:
            self._built.pop(wf, None)  # gone, or unreadable: nothing stale is served
            return
        built = task.result()
        kept = self._built.get(wf)
        if kept is None or event_key(built.version) >= event_key(kept.version):
            self._built[wf] = built
            self._built.move_to_end(wf)
            while len(self._built) > self.kept:
                self._built.popitem(last=False)
