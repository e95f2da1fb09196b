"""Connections to the engine's Redis: one URL for state and broker, errors translated.

``settings.redis_url`` takes ``redis://host:port/db`` or ``unix:///path/to/redis.sock``;
Celery (kombu) spells the socket form ``redis+socket://``. Redis being briefly away (a
restart with AOF) is waited out for ``redis_patience`` seconds before it becomes
``RedisUnreachable`` (exit status 5). A write refused because Redis is at its
``maxmemory`` is ``RedisOutOfMemory`` at once: no wait brings memory back.

While Redis is away the process's ``OutageReporter`` hears of it: the default one logs the
outage once and its end once (a worker's log); the CLI puts in one that shows a status line
(``set_outage_reporter``), so retries never scroll past as a message each.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

import redis

from cephflow.errors import EngineError, RedisOutOfMemory, RedisUnreachable
from cephflow.settings import get_settings

T = TypeVar("T")
log = logging.getLogger(__name__)

TRANSIENT = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)
FIRST_DELAY = 0.05
MAX_DELAY = 1.0


class OutageReporter(Protocol):
    """Hears that Redis is away (on every retry) and that it is back (once)."""

    def down(self, *, what: str, reason: str, waited: float, patience: float) -> None: ...

    def up(self, *, waited: float) -> None: ...


class LogOnce:
    """The default reporter: one warning when an outage starts, one line when it ends."""

    def __init__(self) -> None:
        self.reported = False

    def down(self, *, what: str, reason: str, waited: float, patience: float) -> None:
        if not self.reported:
            self.reported = True
            log.warning("Redis unreachable (%s); trying again for up to %gs (%s)",
                        reason, patience, what)

    def up(self, *, waited: float) -> None:
        if self.reported:
            self.reported = False
            log.warning("Redis is back after %.1fs", waited)


_reporter: OutageReporter = LogOnce()


def set_outage_reporter(reporter: OutageReporter) -> OutageReporter:
    """Make ``reporter`` hear of Redis outages in this process; returns the one it replaces."""
    global _reporter
    previous, _reporter = _reporter, reporter
    return previous


def redis_client(url: str) -> redis.Redis:
    """A client with str responses, health checks and retries on a dropped connection."""
    return redis.Redis.from_url(
        url, decode_responses=True, health_check_interval=30,
    )


def broker_url(url: str) -> str:
    """The kombu spelling of a Redis URL."""
    if url.startswith("unix://"):
        return "redis+socket://" + url[len("unix://"):]
    return url


def socket_url(path: str) -> str:
    return f"unix://{path}"


def call(fn: Callable[[], T], *, patience: float | None = None, what: str = "redis") -> T:
    """Run ``fn``; while Redis is unreachable retry for ``patience`` seconds (default: the
    ``redis_patience`` setting), then raise RedisUnreachable."""
    if patience is None:
        patience = get_settings().redis_patience
    started: float | None = None
    delay = FIRST_DELAY
    while True:
        try:
            result = fn()
        except TRANSIENT as exc:
            now = time.monotonic()
            started = now if started is None else started
            if now - started >= patience:
                raise unreachable(exc, patience) from exc
            _reporter.down(what=what, reason=str(exc), waited=now - started, patience=patience)
            time.sleep(min(delay, max(started + patience - now, 0.0)))
            delay = min(delay * 2, MAX_DELAY)
            continue
        except redis.exceptions.OutOfMemoryError as exc:
            raise out_of_memory(what) from exc
        except redis.RedisError as exc:
            raise EngineError(f"{what}: {exc}") from exc
        if started is not None:
            _reporter.up(waited=time.monotonic() - started)
        return result


_ADDRESS = re.compile(r"connecting to (\S+?)\.?(?:\s|$)")


def out_of_memory(what: str) -> RedisOutOfMemory:
    """The error of a write Redis refused at its ``maxmemory`` (``what`` was being done)."""
    return RedisOutOfMemory("Redis is out of memory (used memory > maxmemory): it refuses "
                            "writes and transactions", where=what)


def unreachable(exc: Exception, patience: float) -> RedisUnreachable:
    """The error that ends a command when Redis stayed away for ``patience`` seconds."""
    match = _ADDRESS.search(str(exc))
    return RedisUnreachable(
        f"cannot reach Redis (tried for {patience:g}s)",
        where=match.group(1) if match else str(exc),
        hint="is it running? redis_url (CEPHFLOW_REDIS_URL) says where it is; "
             "with none set, `cephflow services` shows the embedded one",
    )
