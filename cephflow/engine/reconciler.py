"""The reconciler: re-sends nodes whose lease expired (lost message, dead worker).

Leases live in one sorted set scored by expiry, so each pass reads only the expired entries:
its work is O(expired), never O(workflow). Every worker runs it on a timer thread; the
``relet`` script decides atomically, so two workers never re-send the same node twice.
"""

from __future__ import annotations

import logging
import threading
import time

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
