"""The Redis ``ContextBackend``: what a task's ``StepContext`` reads and writes in Redis.

Writes go through ``lua/keep.lua``: a copy of a step still running after its workflow ended
must not leave keys that outlive the workflow's retention.

A fact, a once-marker or a memo is often written *ahead* of an effect (``ceph.set_flag``
records that this workflow sets the flag, then sets it). Redis replicates asynchronously, so
a failover can lose such a record while the effect happened. With ``wait_replicas``
(``redis_wait_replicas``) each of these writes waits, up to ``WAIT_TIMEOUT_MS``, until that
many replicas hold it (``WAIT``) before the task goes on to the effect; fewer in time is
logged and the task goes on (the record is on the primary: the loss is as without waiting)."""

from __future__ import annotations

import json
import logging
from typing import Any

import redis

from cephflow.engine import keys
from cephflow.engine.connection import call
from cephflow.engine.scripts import Kept, Transitions

log = logging.getLogger("cephflow.engine")
WAIT_TIMEOUT_MS = 1000


class RedisContextBackend:
    """Progress events, workflow facts, once-markers and node memos kept in Redis."""

    def __init__(self, client: redis.Redis, transitions: Transitions, ns: str,
                 wait_replicas: int = 0):
        self.client = client
        self.transitions = transitions
        self.ns = ns
        self.wait_replicas = wait_replicas

    def _replicated(self, what: str) -> None:
        """Wait until ``wait_replicas`` replicas hold what was just written (none: return)."""
        if not self.wait_replicas:
            return
        acked = call(lambda: self.client.wait(self.wait_replicas, WAIT_TIMEOUT_MS), what=what)
        if acked < self.wait_replicas:
            log.warning("%s reached %d of %d replicas in %d ms (redis_wait_replicas): going on",
                        what, acked, self.wait_replicas, WAIT_TIMEOUT_MS)

    def _keys(self, wf: str) -> keys.WorkflowKeys:
        return keys.WorkflowKeys(self.ns, wf)

    def publish_progress(self, workflow_id: str, node_id: str, detail: str,
                         data: dict[str, Any]) -> None:
        self.transitions.progress(workflow_id, node_id, detail, data)

    def get_fact(self, workflow_id: str, key: str) -> Any:
        raw = call(lambda: self.client.hget(self._keys(workflow_id).facts, key), what=Kept.FACT)
        return None if raw is None else json.loads(raw)

    def set_fact(self, workflow_id: str, key: str, value: Any) -> None:
        self.transitions.keep(workflow_id, Kept.FACT, "", key,
                              json.dumps(value, sort_keys=True, default=str))
        self._replicated(Kept.FACT)

    def claim_once(self, workflow_id: str, node_id: str, key: str) -> bool:
        marker = f"{node_id}|{key}"
        first = self.transitions.keep(workflow_id, Kept.ONCE, node_id, marker)
        self._replicated(Kept.ONCE)
        return first

    def node_memo(self, workflow_id: str, node_id: str) -> dict[str, Any]:
        raw = call(lambda: self.client.hgetall(self._keys(workflow_id).memo(node_id)), what=Kept.MEMO)
        return {k: json.loads(v) for k, v in raw.items()}

    def set_node_memo(self, workflow_id: str, node_id: str, key: str, value: Any) -> None:
        self.transitions.keep(workflow_id, Kept.MEMO, node_id, key,
                              json.dumps(value, sort_keys=True, default=str))
        self._replicated(Kept.MEMO)
