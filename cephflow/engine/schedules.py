"""What schedulers share in Redis: who leads, which fire times were claimed, how each ended.

Two ``cephflow scheduler`` processes may run at once (one per host, for a scheduler that
survives its host). Only the leader fires: it holds ``keys.scheduler_leader`` (``SET NX PX``
with a token of its own, renewed while it runs, dropped when it stops). A lock with a TTL
can still be held by two for a moment (a leader stalled past its TTL that has not noticed
yet), so each fire time is also claimed: ``claim`` moves the schedule's ``claimed`` fire
time forward in one optimistic transaction and succeeds only for a time later than the one
claimed last. Two schedulers can never both claim the same fire time, nor an older one after
a newer one: each fire time is submitted at most once, and the record is one small hash per
schedule whatever the cron expression (no key per fire).

The record (``keys.schedule``) holds:

    claimed   the last fire time claimed (epoch seconds)
    fire      the fire time of the last outcome
    at        when that outcome was decided (Redis TIME)
    outcome   ``FireOutcome``
    workflow  the workflow submitted (empty for a skip)
    run       the workflow of the last fire that submitted (what ``overlap = "skip"``
              waits for)
    reason    why it was skipped, missed or failed (empty when submitted)
    next      the next fire time
    cron      the cron expression and time zone ``next`` was computed for; a schedule
              whose settings changed gets a new ``next``

Every time is Redis's ``TIME``, so schedulers on hosts whose clocks disagree agree on when
a fire time has come.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import redis
from redis.client import Pipeline

from cephflow.engine import keys
from cephflow.engine.connection import call


class FireOutcome(StrEnum):
    """How a fire time of a schedule ended."""

    SUBMITTED = "submitted"
    """The runbook was submitted (``workflow``)."""
    SKIPPED = "skipped"
    """Not run, as the schedule says: outside its window, its previous run still running,
    or a lock it needs held (``reason``)."""
    MISSED = "missed"
    """No scheduler ran at the fire time, and it was later than the schedule's ``grace``."""
    FAILED = "failed"
    """The runbook could not be planned or submitted (``reason``: the error)."""


@dataclass(frozen=True)
class ScheduleRecord:
    """A schedule's record as stored (empty when it never fired)."""

    claimed: float | None = None
    fire: float | None = None
    at: float | None = None
    outcome: FireOutcome | None = None
    workflow: str | None = None
    run: str | None = None
    reason: str | None = None
    next: float | None = None
    cron: str | None = None

    @classmethod
    def parse(cls, fields: dict[str, str]) -> ScheduleRecord:
        def number(name: str) -> float | None:
            value = fields.get(name)
            return float(value) if value else None

        outcome = fields.get("outcome")
        return cls(claimed=number("claimed"), fire=number("fire"), at=number("at"),
                   outcome=FireOutcome(outcome) if outcome else None,
                   workflow=fields.get("workflow") or None, run=fields.get("run") or None,
                   reason=fields.get("reason") or None,
                   next=number("next"), cron=fields.get("cron") or None)


def new_token() -> str:
    """A scheduler's token: its host and PID (for whoever looks) and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(8)}"


class ScheduleStore:
    """The schedulers' shared state in one Redis namespace."""

    def __init__(self, client: redis.Redis, ns: str):
        self.redis = client
        self.ns = ns

    def now(self) -> float:
        """Redis's clock (epoch seconds): the one clock every scheduler fires by."""
        seconds, micros = call(lambda: self.redis.time(), what="time")
        return seconds + micros / 1_000_000

    def lead(self, token: str, ttl: float) -> bool:
        """Take or keep the lead for ``ttl`` seconds; whether ``token`` leads now."""
        key = keys.scheduler_leader(self.ns)
        ms = max(1, int(ttl * 1000))
        if call(lambda: self.redis.set(key, token, nx=True, px=ms), what="scheduler lead"):
            return True
        return bool(call(lambda: self._if_holder(key, token, lambda p: p.pexpire(key, ms)),
                         what="scheduler lead"))

    def leader(self) -> str | None:
        """The token of the scheduler that leads now, if any."""
        return call(lambda: self.redis.get(keys.scheduler_leader(self.ns)), what="scheduler lead")

    def resign(self, token: str) -> None:
        """Drop the lead if ``token`` holds it (a scheduler that stops), so another takes it
        at once instead of after the TTL."""
        key = keys.scheduler_leader(self.ns)
        call(lambda: self._if_holder(key, token, lambda p: p.delete(key)), what="scheduler lead")

    def _if_holder(self, key: str, token: str,
                   change: Callable[[Pipeline], object]) -> bool:
        """Run ``change`` on a transaction if ``key`` still holds ``token`` (WATCH)."""
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    if pipe.get(key) != token:
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    change(pipe)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue

    def claim(self, name: str, fire: float) -> bool:
        """Claim fire time ``fire`` of schedule ``name``: True for exactly one caller, and
        only while no later fire time was claimed."""
        key = keys.schedule(self.ns, name)

        def attempt() -> bool:
            with self.redis.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(key)
                        claimed = pipe.hget(key, "claimed")
                        if claimed and float(claimed) >= fire:
                            pipe.unwatch()
                            return False
                        pipe.multi()
                        pipe.hset(key, "claimed", repr(fire))
                        pipe.execute()
                        return True
                    except redis.WatchError:
                        continue

        return call(attempt, what="schedule claim")

    def record(self, name: str, *, fire: float, outcome: FireOutcome, at: float,
               workflow: str | None = None, reason: str | None = None) -> None:
        """Write how fire time ``fire`` ended."""
        fields = {"fire": repr(fire), "at": repr(at), "outcome": outcome.value,
                  "workflow": workflow or "", "reason": reason or ""}
        if workflow:
            fields["run"] = workflow
        call(lambda: self.redis.hset(keys.schedule(self.ns, name), mapping=fields),
             what="schedule record")

    def plan_next(self, name: str, *, next_fire: float, cron: str) -> None:
        """Write the next fire time of ``name`` and the ``cron`` (expression and zone) it
        was computed for."""
        fields = {"next": repr(next_fire), "cron": cron}
        call(lambda: self.redis.hset(keys.schedule(self.ns, name), mapping=fields),
             what="schedule record")

    def read(self, names: list[str]) -> dict[str, ScheduleRecord]:
        """The records of ``names`` (an empty record for one that never fired)."""
        def fetch() -> list[dict[str, str]]:
            pipe = self.redis.pipeline(transaction=False)
            for name in names:
                pipe.hgetall(keys.schedule(self.ns, name))
            return pipe.execute()

        found = call(fetch, what="schedules") if names else []
        return {name: ScheduleRecord.parse(fields) for name, fields in zip(names, found,
                                                                           strict=True)}
