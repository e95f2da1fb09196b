"""kombu's Redis transport, hardened: a broker entry that is not a message is dropped.

A corrupt entry in the queue (not JSON, not an envelope) makes kombu's consumer raise in its
event loop, and the worker stops consuming for good. Here it is logged and dropped instead;
malformed *task* payloads are the runner's concern (``runner.run_message``).

Also: when Redis goes away, kombu may close the channel after its connection was released and
then fail with an AttributeError that Celery treats as unrecoverable (the worker exits).
Reporting that case as the connection error it is lets Celery reconnect as usual. So is
Redis at its ``maxmemory``: the worker lives on until Redis has memory again.
"""

from __future__ import annotations

import logging

import redis
from kombu import transport as kombu_transport
from kombu.transport import redis as kombu_redis

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


ALIAS = "cephflow-redis"
kombu_transport.TRANSPORT_ALIASES[ALIAS] = f"{__name__}:Transport"


def broker_url(redis_url: str) -> str:
    """The broker URL for ``redis_url`` that selects this transport."""
    if redis_url.startswith("unix://"):
        return f"{ALIAS}+socket://{redis_url[len('unix://'):]}"
    for scheme in ("redis://", "rediss://"):
        if redis_url.startswith(scheme):
            return f"{ALIAS}://{redis_url[len(scheme):]}"
    return redis_url
