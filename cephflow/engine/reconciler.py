"""The reconciler: re-sends nodes whose lease expired (lost message, dead worker), and
finishes submits that died between writing a workflow and starting it.

Leases live in one sorted set scored by expiry, so each pass reads only the expired entries:
its work is O(expired), never O(workflow). Which leases expired is decided by Redis's clock
(``lua/due.lua``), never this host's: a worker whose clock runs ahead would otherwise see
every healthy lease as expired and send running steps again. Every worker runs it on a timer
thread; the ``relet`` script decides atomically, so two workers never re-send the same node
twice.

A workflow stays ``submitting`` from its submit's first write until ``lua/start.lua``. One
that is still there ``submit_grace_seconds`` later lost its submit: if every write arrived
(meta ``written``) the reconciler starts it, as the submit would have; if not it removes it
(``lua/discard.lua``) and its audit record says why. A lock held by another workflow by then
removes it too, as a submit refused for a held lock leaves nothing behind.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis
from celery import Celery

from cephflow.engine import dispatch, keys
from cephflow.engine.connection import TRANSIENT
from cephflow.engine.scripts import Reply, Transitions
from cephflow.errors import EngineError, RedisAccessDenied
from cephflow.settings import Settings

log = logging.getLogger(__name__)

SUBMIT_GRACE = Settings.model_fields["submit_grace_seconds"].default

STARTED_NOTE = "started by the reconciler: its submit ended before starting it"
INCOMPLETE = "removed by the reconciler: its submit ended before writing all of it"


def reconcile_once(client: redis.Redis, transitions: Transitions, app: Celery, ns: str,
                   *, limit: int = 1000, submit_grace: float = SUBMIT_GRACE) -> int:
    """One pass: re-send what expired, finish unfinished submits; returns how many messages
    were sent."""
    members, stuck = transitions.due(limit, submit_grace)
    sent = 0
    for member in members:
        wf, node = keys.split_lease_member(member)
        outcome = transitions.relet(wf, node)
        if outcome.status == "send":
            log.warning("workflow %s: node %s lease expired; sending it again", wf, node)
            sent += dispatch.send(app, wf, [(node, outcome.detail[0])], client=client)
    for wf in stuck:
        sent += finish_submit(client, transitions, app, wf)
    return sent


def relet_orphans(client: redis.Redis, ns: str, alive: Callable[[str, int], bool]) -> int:
    """Expire now the lease of every node no live process holds; returns how many.

    For a worker that has just died: the nodes it held would wait out their whole lease
    before the reconciler sent them again. The node a live process claimed last is named by
    its ``holder`` key, which the claim script writes (``alive(host, pid)`` says which
    processes live); every other leased node is queued or waiting, and sending it again
    with its token is harmless (one copy runs).
    Only for a Redis whose every worker this caller can see (the embedded default's): on a
    shared Redis, ``alive`` could not know the other hosts' processes. The next reconcile
    pass sends what this expired. Watching the leases makes a claim in between start over.
    """
    key = keys.leases(ns)
    with client.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)
                leased = pipe.zrange(key, 0, -1)
                held = set()
                for holder in client.scan_iter(match=keys.holder_prefix(ns) + "*", count=1000):
                    host, pid = keys.split_holder(holder, ns)
                    if alive(host, pid):
                        member = client.get(holder)
                        if member:
                            held.add(member)
                orphans = [m for m in leased if m not in held]
                pipe.multi()
                if orphans:
                    pipe.zadd(key, dict.fromkeys(orphans, 0), xx=True)
                pipe.execute()
                return len(orphans)
            except redis.WatchError:
                continue


def finish_submit(client: redis.Redis, transitions: Transitions, app: Celery, wf: str) -> int:
    """Start ``wf`` (left submitting) when its writes are complete, else remove it."""
    started = transitions.start(wf, STARTED_NOTE)
    if started.status == Reply.OK:
        log.warning("workflow %s: its submit ended before starting it; started now", wf)
        return dispatch.send(app, wf, started.sends, client=client)
    if started.status == Reply.HELD:
        lock, holder = started.detail
        why = f"refused: lock {lock} held by {holder} (its submit ended before starting it)"
    elif started.status == Reply.FULL:
        why = (f"refused: its cluster runs {started.detail[0]} workflow(s) at once at most "
               f"(max_workflows) and runs {', '.join(sorted(started.detail[1:]))} (its "
               "submit ended before starting it)")
    elif started.detail[0] in (Reply.INCOMPLETE, Reply.UNKNOWN):
        why = INCOMPLETE
    else:  # started or cancelled meanwhile (by its submit, a cancel, another reconciler)
        return 0
    if transitions.discard(wf, why).status == Reply.OK:
        log.warning("workflow %s: %s", wf, why)
    return 0


class ReconcilerThread(threading.Thread):
    """Runs ``reconcile_once`` every ``interval`` seconds until stopped."""

    def __init__(self, client: redis.Redis, transitions: Transitions, app: Celery, ns: str,
                 *, interval: float, submit_grace: float = SUBMIT_GRACE):
        super().__init__(name="cephflow-reconciler", daemon=True)
        self.args = (client, transitions, app, ns)
        self.interval = interval
        self.submit_grace = submit_grace
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                reconcile_once(*self.args, submit_grace=self.submit_grace)
            except (EngineError, RedisAccessDenied, *TRANSIENT) as exc:
                log.warning("reconciler: %s", exc)
            except Exception:  # noqa: BLE001 - the timer must survive anything
                log.exception("reconciler pass failed")
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
