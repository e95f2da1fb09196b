"""One reader per followed workflow per server process: ``EventHub``.

A server with a hundred clients following one workflow would otherwise read its event
stream a hundred times (an ``XREAD BLOCK`` each, each event decoded, masked and encoded a
hundred times). The hub gives each followed workflow one ``Feed``: a thread that reads the
stream (``XREAD BLOCK``), encodes each event once (``encode``: the front end's bytes, e.g.
a Server-Sent Event) and hands the bytes to the event loop, where every follower takes what
it has not sent yet. The feed keeps the last ``KEEP`` events; a follower that starts
further back (``Last-Event-ID``, or from the start) or falls that far behind reads the gap
from Redis itself, then joins the feed. The feed ends, with ``end(state)``, once the
workflow has ended and every event is out; it stops when its last follower leaves.

Each server process has its own hub (several uvicorn workers: one reader per workflow per
worker that has followers of it).
"""

from __future__ import annotations

import asyncio
import threading
from bisect import bisect_right
from collections.abc import AsyncIterator, Callable

from anyio import to_thread

from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import Event, WorkflowState
from cephflow.operations.snapshot_cache import event_key

BLOCK_MS = 1000
"""How long one read waits for news before it looks at the workflow's state; also how
long a follower waits before it is given ``None`` (time for a keep-alive)."""
BATCH = 2000
"""Events read per call."""
KEEP = 5000
"""Events a feed keeps for followers that are behind."""


class Feed:
    """One workflow's events, read once, for every follower in this process."""

    def __init__(self, hub: EventHub, wf: str, base: str, loop: asyncio.AbstractEventLoop):
        self.hub = hub
        self.wf = wf
        self.base = base
        """The id just before the first kept event: a follower at or after it reads here."""
        self.ids: list[str] = []
        self.keys: list[tuple[int, int]] = []
        self.chunks: list[bytes] = []
        self.end: bytes | None = None
        self.failure: BaseException | None = None
        self.followers = 0
        self.loop = loop
        self.changed: asyncio.Future[None] = loop.create_future()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._read, name=f"feed-{wf[:8]}", daemon=True)

    # the reader thread -------------------------------------------------------------------

    def _read(self) -> None:
        client, after = self.hub.client, self.base
        try:
            while not self.stopping.is_set():
                state = client.state(self.wf)
                events = client.events(self.wf, after, block_ms=BLOCK_MS, count=BATCH)
                if events:
                    after = events[-1].id
                    encoded = [(e.id, self.hub.encode(e)) for e in events]
                    self.loop.call_soon_threadsafe(self._publish, encoded, None)
                elif state.terminal:
                    self.loop.call_soon_threadsafe(self._publish, [], self.hub.end(state))
                    return
        except BaseException as exc:  # Redis away past its patience: followers see it
            try:
                self.loop.call_soon_threadsafe(self._fail, exc)
            except RuntimeError:  # the server is stopping: its loop is closed
                pass

    # on the event loop ---------------------------------------------------------------------

    def _publish(self, encoded: list[tuple[str, bytes]], end: bytes | None) -> None:
        for event_id, chunk in encoded:
            self.ids.append(event_id)
            self.keys.append(event_key(event_id))
            self.chunks.append(chunk)
        if len(self.ids) > 2 * KEEP:
            cut = len(self.ids) - KEEP
            self.base = self.ids[cut - 1]
            del self.ids[:cut], self.keys[:cut], self.chunks[:cut]
        if end is not None:
            self.end = end
            self.hub.drop(self)  # a later follower starts a feed of its own (a resume)
        self._wake()

    def _fail(self, exc: BaseException) -> None:
        self.failure = exc
        self.hub.drop(self)
        self._wake()

    def _wake(self) -> None:
        changed, self.changed = self.changed, self.loop.create_future()
        changed.set_result(None)

    def left(self) -> None:
        self.followers -= 1
        if self.followers == 0:
            self.stopping.set()
            self.hub.drop(self)


class EventHub:
    """The feeds of one server process, by workflow.

    Args:
        client: the engine's client the feeds read through.
        encode: an event as the bytes a follower is sent.
        end: what a follower is sent last, given the workflow's final state.
    """

    def __init__(self, client: WorkflowClient, *, encode: Callable[[Event], bytes],
                 end: Callable[[WorkflowState], bytes]):
        self.client = client
        self.encode = encode
        self.end = end
        self.feeds: dict[str, Feed] = {}

    def drop(self, feed: Feed) -> None:
        if self.feeds.get(feed.wf) is feed:
            del self.feeds[feed.wf]
            feed.stopping.set()

    async def _join(self, wf: str) -> Feed:
        feed = self.feeds.get(wf)
        if feed is None:
            base = await to_thread.run_sync(lambda: self.client.version(wf))
            feed = self.feeds.get(wf)  # another follower may have started one meanwhile
            if feed is None:
                feed = self.feeds[wf] = Feed(self, wf, base, asyncio.get_running_loop())
                feed.thread.start()
        feed.followers += 1
        return feed

    async def follow(self, wf: str, after: str = "0-0") -> AsyncIterator[bytes | None]:
        """``wf``'s events after ``after`` as ``encode`` made them (several at a time), then
        ``end``; ``None`` when ``BLOCK_MS`` passed with no news (time for a keep-alive).

        ``wf`` is a full id (``workflows.resolve``); WorkflowNotFound if there is none.
        """
        feed = await self._join(wf)
        cursor, key = after, event_key(after)
        try:
            while True:
                if key < event_key(feed.base):  # behind what the feed keeps: read the gap
                    read = await to_thread.run_sync(lambda c=cursor: self._gap(wf, c))
                    if read:
                        cursor, key = read[-1][0], event_key(read[-1][0])
                        yield b"".join(chunk for _, chunk in read)
                    else:  # the stream was trimmed below the feed: go on from the feed
                        cursor, key = feed.base, event_key(feed.base)
                    continue
                first = bisect_right(feed.keys, key)
                if first < len(feed.keys):
                    cursor, key = feed.ids[-1], feed.keys[-1]
                    yield b"".join(feed.chunks[first:])
                    continue
                if feed.end is not None:
                    yield feed.end
                    return
                if feed.failure is not None:
                    raise feed.failure
                try:
                    await asyncio.wait_for(asyncio.shield(feed.changed), BLOCK_MS / 1000)
                except TimeoutError:
                    yield None
        finally:
            feed.left()

    def _gap(self, wf: str, after: str) -> list[tuple[str, bytes]]:
        return [(e.id, self.encode(e)) for e in self.client.events(wf, after, count=BATCH)]
