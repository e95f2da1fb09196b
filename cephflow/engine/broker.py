"""kombu's Redis transport, hardened: a broker entry that is not a message is dropped.

A corrupt entry in the queue (not JSON, not an envelope) makes kombu's consumer raise in its
event loop, and the worker stops consuming for good. Here it is logged and dropped instead;
malformed *task* payloads are the runner's concern (``runner.run_message``).

Also: when Redis goes away, kombu may close the channel after its connection was released and
then fail with an AttributeError that Celery treats as unrecoverable (the worker exits).
Reporting that case as the connection error it is lets Celery reconnect as usual. So is
Redis at its ``maxmemory``: the worker lives on until Redis has memory again.

A ``redis+sentinel://`` URL gets the same hardening on kombu's Sentinel transport
(``SentinelTransport``), and the result backend Celery's ``sentinel://`` one
(``sentinel_conf``).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import redis
from kombu import transport as kombu_transport
from kombu.transport import redis as kombu_redis
from redis import sentinel

from cephflow.sentinel_url import is_sentinel, parse_sentinel_url

log = logging.getLogger("cephflow.engine")


class Channel(kombu_redis.Channel):
    def _brpop_read(self, **options):  # type: ignore[no-untyped-def]
        try:
            return super()._brpop_read(**options)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.error("dropping undecodable broker message: %s", exc)
            return True

    def _connparams(self, asynchronous=False):  # type: ignore[no-untyped-def]
        if self.connection is None or self.connection.client is None:
            raise redis.ConnectionError("broker connection already closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
    connection_errors = (*kombu_redis.Transport.connection_errors,
                         redis.exceptions.OutOfMemoryError)
    """kombu counts Redis refusing a write for memory as a channel error, and an ack that
    fails with one stops the worker for good; as a connection error the ack's failure is
    logged (the message stays unacknowledged, and a redelivery finds its run recorded) and a
    refused receive makes the consumer reconnect until Redis has memory again."""


class SentinelChannel(Channel, kombu_redis.SentinelChannel):
    """kombu's Sentinel channel, hardened as ``Channel``, reading its sentinels from the
    transport option ``sentinels`` rather than from the broker URL's alternates
    (``sentinel://a;sentinel://b``): kombu cycles through alternates on a connection
    error and, switching, would leave this transport for its own unhardened one."""

    from_transport_options = (*kombu_redis.SentinelChannel.from_transport_options,
                              "sentinels")
    sentinels: list[tuple[str, int]] = []

    def _sentinel_managed_pool(self, asynchronous=False):  # type: ignore[no-untyped-def]
        params = self._connparams(asynchronous)
        params.pop("host", None)
        params.pop("port", None)
        manager = sentinel.Sentinel(
            [tuple(s) for s in self.sentinels],
            min_other_sentinels=getattr(self, "min_other_sentinels", 0),
            sentinel_kwargs=getattr(self, "sentinel_kwargs", None), **params)
        if asynchronous:  # kept, so that kombu closes its connections to the sentinels
            self._async_sentinel_manager = manager
        else:
            self._sentinel_manager = manager
        credentials = {k: params[k] for k in ("username", "password") if k in params}
        return manager.master_for(self.master_name, redis.Redis, **credentials).connection_pool


class SentinelTransport(kombu_redis.SentinelTransport):
    Channel = SentinelChannel
    connection_errors = Transport.connection_errors


ALIAS = "cephflow-redis"
SENTINEL_ALIAS = "cephflow-sentinel"
kombu_transport.TRANSPORT_ALIASES[ALIAS] = f"{__name__}:Transport"
kombu_transport.TRANSPORT_ALIASES[SENTINEL_ALIAS] = f"{__name__}:SentinelTransport"


def sentinel_conf(redis_url: str, transport_options: dict[str, Any]) -> dict[str, Any]:
    """Celery settings that put broker and result backend on a ``redis+sentinel://`` URL's
    service (``transport_options``: the broker's others, kept); empty for any other URL."""
    if not is_sentinel(redis_url):
        return {}
    parsed = parse_sentinel_url(redis_url)
    user = quote(parsed.username or "", safe="")
    secret = "" if parsed.password is None else ":" + quote(parsed.password, safe="")
    auth = f"{user}{secret}@" if user or secret else ""
    hosts = [f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in parsed.sentinels]
    service = {"master_name": parsed.service}
    return {
        "broker_url": f"{SENTINEL_ALIAS}://{auth}{hosts[0]}/{parsed.db}",
        "broker_use_ssl": False,
        "broker_transport_options": {**transport_options, **service,
                                     "sentinels": list(parsed.sentinels)},
        "result_backend": ";".join(f"sentinel://{auth}{h}/{parsed.db}" for h in hosts),
        "result_backend_transport_options": service,
        "redis_backend_use_ssl": None,
    }


def broker_url(redis_url: str) -> str:
    """The broker URL for ``redis_url`` that selects this transport."""
    if redis_url.startswith("unix://"):
        return f"{ALIAS}+socket://{redis_url[len('unix://'):]}"
    for scheme in ("redis://", "rediss://"):
        if redis_url.startswith(scheme):
            return f"{ALIAS}://{redis_url[len(scheme):]}"
    return redis_url
