"""Connections to the engine's Redis: one URL for state and broker, errors translated.

``settings.redis_url`` takes ``redis://host:port/db`` or ``unix:///path/to/redis.sock``;
Celery (kombu) spells the socket form ``redis+socket://``. A user and password
(``redis://user:password@host``, an ACL user; ``redis://:password@host``, the default user)
and TLS (``rediss://host:port/db?ssl_ca_certs=/path/ca.pem``) are read from the URL alone,
so the CLI, a worker's state client, its broker and its result backend all connect alike
(``redis_address``): kombu would otherwise take ``rediss://`` without options as "TLS,
certificate unchecked". Redis being briefly away (a restart with AOF) is waited out for
``redis_patience`` seconds before it becomes ``RedisUnreachable`` (exit status 5); Redis
refusing the password, the ACL or the certificate is ``RedisAccessDenied`` at once (exit
status 2): waiting would not change it. A write refused because Redis is at its
``maxmemory`` is ``RedisOutOfMemory`` at once: no wait brings memory back.

While Redis is away the process's ``OutageReporter`` hears of it: the default one logs the
outage once and its end once (a worker's log); the CLI puts in one that shows a status line
(``set_outage_reporter``), so retries never scroll past as a message each.

``redis+sentinel://host1:26379,host2:26379/db?service=name`` (``cephflow.sentinel_url``)
follows the primary that Redis Sentinel names: each new connection asks the sentinels
which server it is, and a connection to a primary that was demoted (``READONLY``) or that
died is dropped as a ConnectionError, so a failover is an outage like any other, waited out
for ``redis_patience`` seconds (docs/reliability.md, "Redis Sentinel").
"""

from __future__ import annotations

import logging
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import redis
from redis.exceptions import NoPermissionError
from redis.sentinel import Sentinel

from cephflow.errors import EngineError, RedisAccessDenied, RedisOutOfMemory, RedisUnreachable
from cephflow.runbook.dag import REDACTED
from cephflow.sentinel_url import is_sentinel, parse_sentinel_url
from cephflow.settings import get_settings

T = TypeVar("T")
log = logging.getLogger(__name__)

TRANSIENT = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)
FIRST_DELAY = 0.05
MAX_DELAY = 1.0
SENTINEL_TIMEOUT = 2.0
"""Seconds one sentinel may take to connect or answer before the next one is asked: a
sentinel on a lost host must not hold every new connection."""


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


@dataclass(frozen=True)
class RedisAddress:
    """A Redis URL split in what every client library reads alike and the TLS options."""

    url: str
    """The URL without its query (scheme, user, password, host, port, db; or a socket)."""
    tls: dict[str, Any] = field(default_factory=dict)
    """redis-py's ``ssl_*`` keyword arguments (empty unless ``rediss://``): the certificate
    is required and checked against ``ssl_ca_certs`` (default: the system's CAs), the host
    name too, unless the URL says otherwise."""


_CERT_REQS = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL,
              "none": ssl.CERT_NONE}


def redis_address(url: str) -> RedisAddress:
    """``url`` split for redis-py, kombu (``broker_use_ssl``) and Celery's result backend
    (``redis_backend_use_ssl``). The settings have checked its query already
    (``REDIS_TLS_PARAMETERS`` only, and only on ``rediss://``)."""
    base, _, query = url.partition("?")  # as given: urlunsplit would spell unix:/// unix:/
    if not base.startswith("rediss://"):
        return RedisAddress(base)
    tls: dict[str, Any] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "ssl_cert_reqs":
            tls[name] = _CERT_REQS[value.lower()]
        elif name == "ssl_check_hostname":
            tls[name] = value.lower() not in ("false", "no", "0", "off")
        else:
            tls[name] = value
    # said, not left to redis-py, whose default was False before 6.0 (the pin allows 5.x):
    # a certificate of any trusted CA would do. Off only with no certificate check at all.
    tls.setdefault("ssl_check_hostname", tls["ssl_cert_reqs"] != ssl.CERT_NONE)
    return RedisAddress(base, tls)


def safe_url(url: str) -> str:
    """``url`` as it may be shown: a password in it (``redis://:pw@host``) prints as SecretStr
    prints, the rest as given so that the operator still sees which server is meant."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # a malformed URL (a bad port): show none of it that could be secret
        return url.rsplit("@", 1)[-1] if "@" in url else url
    if "@" in url and "@" not in parts.netloc:
        # a '#', '?' or '/' in the password ended the netloc early: the secret is past it
        return f"{parts.scheme}://{REDACTED}@{url.rsplit('@', 1)[1]}"
    if password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:{REDACTED}@{host}"))


def redis_client(url: str) -> redis.Redis:
    """A client with str responses, health checks and retries on a dropped connection."""
    if is_sentinel(url):
        return sentinel_client(url)
    address = redis_address(url)
    return redis.Redis.from_url(
        address.url, decode_responses=True, health_check_interval=30, **address.tls,
    )


def sentinel_client(url: str) -> redis.Redis:
    """A client of the current primary of a ``redis+sentinel://`` URL's service."""
    parsed = parse_sentinel_url(url)
    sentinels = Sentinel(list(parsed.sentinels),
                         sentinel_kwargs={"socket_timeout": SENTINEL_TIMEOUT,
                                          "socket_connect_timeout": SENTINEL_TIMEOUT})
    return sentinels.master_for(
        parsed.service, redis_class=redis.Redis, db=parsed.db, username=parsed.username,
        password=parsed.password, decode_responses=True, health_check_interval=30,
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
        except redis.AuthenticationError as exc:  # a ConnectionError, but never transient
            raise access_denied(exc) from exc
        except TRANSIENT as exc:
            if _untrusted(exc):
                raise access_denied(exc) from exc
            now = time.monotonic()
            started = now if started is None else started
            if now - started >= patience:
                raise unreachable(exc, patience) from exc
            _reporter.down(what=what, reason=str(exc), waited=now - started, patience=patience)
            time.sleep(min(delay, max(started + patience - now, 0.0)))
            delay = min(delay * 2, MAX_DELAY)
            continue
        except NoPermissionError as exc:
            raise access_denied(exc) from exc
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


def _untrusted(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate check that failed under ``exc`` (redis-py chains it as the context)."""
    seen = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return None


_COMMAND = re.compile(r"^Command # \d+ \((\S+)")
"""The command a pipeline's NOPERM names (``Command # 1 (HSET key value ...) of pipeline``)."""


def access_denied(exc: BaseException, url: str | None = None) -> RedisAccessDenied:
    """The error for Redis refusing cephflow: its password, its ACL, or its certificate.

    Redis's own words name the cause; the URL shown (``where``) never holds the password.
    """
    if url is None:
        url = get_settings().redis_url or "the embedded Redis"
    where = safe_url(url)
    untrusted = _untrusted(exc)
    if untrusted is not None:
        reason = untrusted.verify_message or str(untrusted)
        return RedisAccessDenied(
            f"Redis's TLS certificate is not trusted ({reason})", where=where,
            hint="ssl_ca_certs=/path/to/ca.pem in redis_url names the CA that signed the "
                 "server's certificate; its name must match the URL's host")
    if isinstance(exc, NoPermissionError):  # its text may quote a command's values: not shown
        reason = str(exc).rsplit("caused error: ", 1)[-1]
        command = _COMMAND.search(str(exc))
        forbidden = f"{command.group(1)}: " if command else ""
        return RedisAccessDenied(
            f"Redis's ACL forbids what cephflow needs ({forbidden}{reason})", where=where,
            hint="the ACL user of redis_url needs the engine's commands and its keys "
                 "(the README, \"Redis and workers\")")
    return RedisAccessDenied(
        f"Redis refused cephflow's credentials ({exc})", where=where,
        hint="check the user and password in redis_url (CEPHFLOW_REDIS_URL): "
             "redis://user:password@host:port/db, or redis://:password@host:port/db")
