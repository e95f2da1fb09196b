"""Which task a node runs, for the sender: its message is the Celery task of that name.

A message carries only ``(workflow_id, node_id, token)``, but Celery routes, rate-limits and
shows a message by its task name, so the sender must know each node's task. A node's task
never changes once written (``<ns>:wf:<id>:spec``), so a process keeps what it has read for
the workflows it sent lately: one ``HMGET`` per batch of nodes it has not sent before, none
for the others. The same holds for the workflow's cluster, which picks the queue of a step
that ``celery.task_routes`` does not route (``dispatch.queue_for``). The scripts that return
the nodes to send stay as they are.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence

import redis

from cephflow.engine import keys

KEPT_WORKFLOWS = 64
"""Workflows whose node -> task map a process keeps (least recently sent dropped first)."""

_known: OrderedDict[tuple[str, str], dict[str, str]] = OrderedDict()


def task_names(client: redis.Redis, ns: str, wf: str, nodes: Sequence[str]) -> list[str | None]:
    """The task of each node, in order; None for a node without a spec (gone, or never was)."""
    known = _known.get((ns, wf))
    if known is None:
        known = _known[(ns, wf)] = {}
        while len(_known) > KEPT_WORKFLOWS:
            _known.popitem(last=False)
    else:
        _known.move_to_end((ns, wf))
    missing = [n for n in dict.fromkeys(nodes) if n not in known]
    if missing:
        specs = client.hmget(keys.WorkflowKeys(ns, wf).spec, missing)
        for node, spec in zip(missing, specs, strict=True):
            name = _task_of(spec)
            if name is not None:
                known[node] = name
    return [known.get(n) for n in nodes]


def cluster_of(client: redis.Redis, ns: str, wf: str) -> str:
    """The cluster workflow ``wf`` works on (meta ``cluster``; '' when none is recorded or
    the workflow is gone). It never changes once written, so it is kept like the tasks."""
    found = _clusters.get((ns, wf))
    if found is None:
        value = client.hget(keys.WorkflowKeys(ns, wf).meta, "cluster")
        if value is None:
            return ""
        found = value.decode() if isinstance(value, bytes) else str(value)
        _clusters[(ns, wf)] = found
        while len(_clusters) > KEPT_WORKFLOWS:
            _clusters.popitem(last=False)
    else:
        _clusters.move_to_end((ns, wf))
    return found


_clusters: OrderedDict[tuple[str, str], str] = OrderedDict()


def _task_of(spec: bytes | str | None) -> str | None:
    if spec is None:
        return None
    try:
        name = json.loads(spec).get("task")
    except (ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name else None


def forget() -> None:
    """Drop what this process knows (tests)."""
    _known.clear()
    _clusters.clear()
