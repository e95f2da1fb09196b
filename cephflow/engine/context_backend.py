"""The Redis ``ContextBackend``: what a task's ``StepContext`` reads and writes in Redis.

Writes go through ``lua/keep.lua``: a copy of a step still running after its workflow ended
must not leave keys that outlive the workflow's retention."""

from __future__ import annotations

import json
from typing import Any

import redis

from cephflow.engine import keys
from cephflow.engine.connection import call
from cephflow.engine.scripts import Kept, Transitions


class RedisContextBackend:
    """Progress events, workflow facts, once-markers and node memos kept in Redis."""

    def __init__(self, client: redis.Redis, transitions: Transitions, ns: str):
        self.client = client
        self.transitions = transitions
        self.ns = ns

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

    def claim_once(self, workflow_id: str, node_id: str, key: str) -> bool:
        marker = f"{node_id}|{key}"
        return self.transitions.keep(workflow_id, Kept.ONCE, node_id, marker)

    def node_memo(self, workflow_id: str, node_id: str) -> dict[str, Any]:
        raw = call(lambda: self.client.hgetall(self._keys(workflow_id).memo(node_id)), what=Kept.MEMO)
        return {k: json.loads(v) for k, v in raw.items()}

    def set_node_memo(self, workflow_id: str, node_id: str, key: str, value: Any) -> None:
        self.transitions.keep(workflow_id, Kept.MEMO, node_id, key,
                              json.dumps(value, sort_keys=True, default=str))
