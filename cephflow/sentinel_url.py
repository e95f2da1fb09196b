"""The Redis Sentinel form of ``redis_url``: which sentinels, which service, which database.

``redis+sentinel://[user:password@]host1:26379,host2:26379,host3:26379/db?service=name``
names the sentinels (any one that answers will do; the port defaults to 26379) and the
service (the ``sentinel monitor <name>`` of their configuration) whose current primary
cephflow uses, for its state, its broker and its result backend alike. The user and the
password are those of the primary (and its replicas, which become primary on a failover);
the sentinels themselves are asked without one. TLS through Sentinel is not offered.

Read here once, by the settings (a wrong URL is a ``ConfigError`` before anything connects)
and by the engine's connections (``cephflow.engine.connection``), so that both agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

SCHEME = "redis+sentinel"
PREFIX = f"{SCHEME}://"
DEFAULT_PORT = 26379
PARAMETERS = ("service",)


@dataclass(frozen=True)
class SentinelUrl:
    """A ``redis+sentinel://`` URL read: never printed (``password``)."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None


def is_sentinel(url: str | None) -> bool:
    return bool(url) and url.startswith(PREFIX)  # type: ignore[union-attr]


def parse_sentinel_url(url: str) -> SentinelUrl:
    """``url`` read; ValueError saying what is wrong (never quoting the password)."""
    if not url.startswith(PREFIX):
        raise ValueError(f"must start with {PREFIX}")
    rest = url[len(PREFIX):]
    userinfo, at, after = rest.rpartition("@")
    base, _, query = after.partition("?")
    hosts, slash, path = base.partition("/")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    sentinels = tuple(_host_port(item) for item in hosts.split(","))
    db = path.strip()
    if slash and db and not db.isdigit():
        raise ValueError(f"the database after '/' must be a number, not {db!r}")
    service = None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name.startswith("ssl_"):
            raise ValueError("TLS (ssl_* parameters) is not offered through Sentinel")
        if name not in PARAMETERS:
            raise ValueError(f"unknown query parameter {name!r} (a {PREFIX} URL takes "
                             + ", ".join(PARAMETERS) + ")")
        service = value.strip()
    if not service:
        raise ValueError(f"a {PREFIX} URL needs ?service=<name>: the name the sentinels "
                         "monitor the primary under")
    return SentinelUrl(sentinels, service, int(db or 0), username, password)


def _host_port(item: str) -> tuple[str, int]:
    """``host:port``, ``host`` (port 26379) or ``[v6]:port`` of one sentinel."""
    item = item.strip()
    if item.startswith("["):
        host, bracket, tail = item[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else ""
        if not bracket or (tail and not tail.startswith(":")):
            raise ValueError(f"sentinel address {item!r}: an IPv6 address is [address]:port")
    else:
        host, _, port = item.partition(":")
    if not host:
        raise ValueError("a sentinel address is empty: host:port,host:port,...")
    if not port:
        return host, DEFAULT_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"sentinel address {item!r}: the port must be 1-65535")
    return host, int(port)
