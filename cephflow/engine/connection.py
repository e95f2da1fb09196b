"""Connections to the engine's Redis: one URL for state and broker, errors translated.

``settings.redis_url`` takes ``redis://host:port/db`` or ``unix:///path/to/redis.sock``;
Celery (kombu) spells the socket form ``redis+socket://``. Redis being briefly away (a
restart with AOF) is waited out for a while before it becomes an ``EngineError``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import redis

from cephflow.errors import EngineError

T = TypeVar("T")
log = logging.getLogger(__name__)

TRANSIENT = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


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


def call(fn: Callable[[], T], *, patience: float = 30.0, what: str = "redis") -> T:
    """Run ``fn``; while Redis is unreachable retry for ``patience`` seconds, then raise."""
    deadline = time.monotonic() + patience
    delay = 0.05
    while True:
        try:
            return fn()
        except TRANSIENT as exc:
            if time.monotonic() >= deadline:
                raise EngineError(f"{what}: Redis unreachable: {exc}") from exc
            log.warning("%s: Redis unreachable (%s), retrying", what, exc)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        except redis.RedisError as exc:
            raise EngineError(f"{what}: {exc}") from exc
