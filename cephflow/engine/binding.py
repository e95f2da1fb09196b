"""``EngineBinding``: one engine Redis, bound once for the classes that read and change workflows.

``WorkflowReader`` and ``WorkflowControl`` both stand on it: the settings, the Redis
connection, the namespace every key hangs under, the Lua transitions, and (made on first
use, since reading never needs it) the Celery app that carries the messages a transition
decided to send.
"""

from __future__ import annotations

import redis
from celery import Celery

from cephflow.engine import dispatch, keys
from cephflow.engine.app import make_app, resolve_redis_url
from cephflow.engine.connection import redis_client
from cephflow.engine.scripts import Outcome, Transitions
from cephflow.settings import Settings, get_settings


class EngineBinding:
    """The engine's Redis, namespace and transitions for one process.

    ``settings`` defaults to the process settings; ``redis_url`` overrides its Redis (the
    embedded one's socket when neither is given).
    """

    def __init__(self, settings: Settings | None = None, *, redis_url: str | None = None):
        self.settings = settings or get_settings()
        self.redis_url = redis_url or resolve_redis_url(self.settings)
        self.ns = self.settings.namespace
        self.redis: redis.Redis = redis_client(self.redis_url)
        self.transitions = Transitions(self.redis, self.ns, self.settings.lease_seconds)
        self._app: Celery | None = None

    @property
    def app(self) -> Celery:
        """The Celery app used to send messages (created on first use)."""
        if self._app is None:
            self._app = make_app(self.redis_url, self.ns, self.settings.celery,
                                 cluster_queues=self.settings.cluster_queues())
        return self._app

    def close(self) -> None:
        self.redis.close()

    def workflow_keys(self, wf: str) -> keys.WorkflowKeys:
        return keys.WorkflowKeys(self.ns, wf)

    def send(self, wf: str, outcome: Outcome) -> None:
        """Send the messages ``outcome`` decided (the nodes a transition queued)."""
        dispatch.send(self.app, wf, outcome.sends, client=self.redis)
