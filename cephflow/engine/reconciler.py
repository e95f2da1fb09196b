"""The reconciler: re-sends nodes whose lease expired (lost message, dead worker).

Leases live in one sorted set scored by expiry, so each pass reads only the expired entries:
its work is O(expired), never O(workflow). Every worker runs it on a timer thread; the
``relet`` script decides atomically, so two workers never re-send the same node twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis
from celery import Celery

from cephflow.engine import dispatch, keys
from cephflow.engine.connection import TRANSIENT
from cephflow.engine.scripts import Transitions
from cephflow.errors import EngineError

log = logging.getLogger(__name__)


def reconcile_once(client: redis.Redis, transitions: Transitions, app: Celery, ns: str,
                   *, limit: int = 1000) -> int:
    """One pass: re-send what expired; returns how many messages were sent."""
    members = client.zrangebyscore(keys.leases(ns), "-inf", time.time(), start=0, num=limit)
    sent = 0
    for member in members:
        wf, node = keys.split_lease_member(member)
        outcome = transitions.relet(wf, node)
        if outcome.status == "send":
            log.warning("workflow %s: node %s lease expired; sending it again", wf, node)
            sent += dispatch.send(app, wf, [(node, outcome.detail[0])], client=client)
    return sent


def relet_orphans(client: redis.Redis, ns: str, alive: Callable[[str, int], bool]) -> int:
    """Expire now the lease of every node no live process holds; returns how many.

    For a worker that has just died: the nodes it held would wait out their whole lease
    before the reconciler sent them again. The node a live process claimed last is named by
    its ``holder`` key, which the claim script writes (``alive(host, pid)`` says which
    processes live); every other leased node
    is queued or waiting, and sending it again with its token is harmless (one copy runs).
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


class ReconcilerThread(threading.Thread):
    """Runs ``reconcile_once`` every ``interval`` seconds until stopped."""

    def __init__(self, client: redis.Redis, transitions: Transitions, app: Celery, ns: str,
                 *, interval: float):
        super().__init__(name="cephflow-reconciler", daemon=True)
        self.args = (client, transitions, app, ns)
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                reconcile_once(*self.args)
            except (EngineError, *TRANSIENT) as exc:
                log.warning("reconciler: %s", exc)
            except Exception:  # noqa: BLE001 - the timer must survive anything
                log.exception("reconciler pass failed")
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
