"""Sending node messages: ``(workflow_id, node_id, token)`` and nothing else.

Each message is the Celery task named after the node's task (``ceph.reweight``, looked up by
``node_tasks``), so Celery's routes (``celery.task_routes``) choose its queue, a worker's rate
limits apply to it, and Flower or ``celery inspect`` show it under that name with the
workflow and node in its ``argsrepr`` (``wf=<id> node=<node>``). A node whose task cannot be
found (its workflow gone) is sent as ``cephflow.run_node``, which the runner answers as before.
A workflow of a configured cluster (``[clusters.<name>]``) sends its steps to that cluster's
queue, served only by workers that reach it, unless ``celery.task_routes`` routes the task:
explicit routes win (``queue_for``). A message's size never depends on the workflow's size.
Immediate messages are written the way kombu's Redis transport writes them (Celery task
protocol 2, one ``LPUSH`` per batch, through the engine's own Redis client): publishing through ``send_task`` costs ~0.5 ms a message,
which at 10,000 nodes is most of the engine's overhead over a bare Celery group. Delayed
messages (polls, retries) go through ``send_task`` with a countdown. A send that fails
(broker away) is logged and left to the reconciler: the node's lease expires and it is sent
again.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import logging
import os
import socket
import uuid
import weakref
from collections.abc import Iterable

import redis
from celery import Celery, signals

from cephflow.engine import node_tasks

TASK_NAME = "cephflow.run_node"
"""The generic task: runs whatever node its message names (messages of older versions, nodes
whose task is unknown to the sender). Every worker keeps it registered."""
log = logging.getLogger(__name__)
_ORIGIN = f"gen{os.getpid()}@{socket.gethostname()}"
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
_queues: weakref.WeakKeyDictionary[Celery, dict[str, str]] = weakref.WeakKeyDictionary()
"""Per app: task name -> queue (an app's routes do not change once it is made)."""


def send(app: Celery, wf: str, pairs: Iterable[tuple[str, str]], *,
         countdown: float | None = None, client: redis.Redis | None = None) -> int:
    """Publish one message per (node, token); returns how many were published."""
    pairs = list(pairs)
    if not pairs:
        return 0
    try:
        names = _names(app, client, wf, pairs)
        cluster = _cluster(app, client, wf)
        if countdown is None and client is not None:
            return _push(app, client, wf, pairs, names, cluster)
        sent = 0
        with app.producer_or_acquire() as producer:
            for (node, token), name in zip(pairs, names, strict=True):
                app.send_task(name, args=(wf, node, token), countdown=countdown,
                              producer=producer, argsrepr=args_repr(wf, node),
                              kwargsrepr="{}", queue=queue_for(app, name, cluster))
                sent += 1
        return sent
    except Exception as exc:  # noqa: BLE001 - any broker failure: the reconciler re-sends
        log.warning("workflow %s: message(s) for %d node(s) not sent (%s); the reconciler will "
                    "re-send them", wf, len(pairs), exc)
        return 0


def args_repr(wf: str, node: str) -> str:
    """What Flower and ``celery inspect`` show as a node message's arguments."""
    return f"wf={wf} node={node}"


def _names(app: Celery, client: redis.Redis | None, wf: str,
           pairs: list[tuple[str, str]]) -> list[str]:
    if client is None:
        return [TASK_NAME] * len(pairs)
    found = node_tasks.task_names(client, _namespace(app), wf, [node for node, _ in pairs])
    return [name or TASK_NAME for name in found]


def _cluster(app: Celery, client: redis.Redis | None, wf: str) -> str:
    if client is None or not app.conf.get("cephflow_cluster_queues"):
        return ""
    return node_tasks.cluster_of(client, _namespace(app), wf)


def _namespace(app: Celery) -> str:
    return str(app.conf.get("cephflow_namespace") or app.conf.task_default_queue)


def queue_for(app: Celery, name: str, cluster: str) -> str:
    """The queue a step of task ``name`` on ``cluster`` goes to: the queue
    ``celery.task_routes`` names for the task (explicit configuration wins), else its
    cluster's queue (``Settings.cluster_queue``), else the namespace's queue."""
    if cluster and not routed(app, name):
        queue = (app.conf.get("cephflow_cluster_queues") or {}).get(cluster)
        if queue:
            return str(queue)
    return queue_of(app, name)


def routed(app: Celery, name: str) -> bool:
    """Whether ``celery.task_routes`` names task ``name`` (exactly or by a glob)."""
    routes = app.conf.get("cephflow_task_routes") or {}
    return name in routes or any(fnmatch.fnmatchcase(name, pattern) for pattern in routes)


def queue_of(app: Celery, name: str) -> str:
    """The queue Celery's routes (``task_routes``) send the task ``name`` to."""
    cache = _queues.setdefault(app, {})
    queue = cache.get(name)
    if queue is None:
        queue = cache[name] = app.amqp.router.route({}, name, (), {})["queue"].name
    return queue


def _push(app: Celery, client: redis.Redis, wf: str, pairs: list[tuple[str, str]],
          names: list[str], cluster: str) -> int:
    hooked = bool(signals.before_task_publish.receivers)
    by_queue: dict[str, list[str]] = {}
    for (node, token), name in zip(pairs, names, strict=True):
        queue = queue_for(app, name, cluster)
        args = [wf, node, token]
        task_id = str(uuid.uuid4())
        body = [args, {}, _EMBED]
        headers = {
            "lang": "py", "task": name, "id": task_id, "shadow": None, "eta": None,
            "expires": None, "group": None, "group_index": None, "retries": 0,
            "timelimit": [None, None], "root_id": task_id, "parent_id": None,
            "argsrepr": args_repr(wf, node), "kwargsrepr": "{}", "origin": _ORIGIN,
            "ignore_result": True, "replaced_task_nesting": 0, "stamped_headers": None,
            "stamps": {},
        }
        if hooked:
            signals.before_task_publish.send(sender=name, body=body, exchange="",
                                             routing_key=queue, headers=headers,
                                             properties={}, declare=[], retry_policy=None)
        by_queue.setdefault(queue, []).append(json.dumps({
            "body": base64.b64encode(json.dumps(body).encode()).decode(),
            "content-encoding": "utf-8", "content-type": "application/json",
            "headers": headers,
            "properties": {
                "correlation_id": task_id, "reply_to": "", "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": queue}, "priority": 0,
                "body_encoding": "base64", "delivery_tag": str(uuid.uuid4()),
            },
        }))
    if len(by_queue) == 1:
        [(queue, payloads)] = by_queue.items()
        client.lpush(queue, *payloads)
    else:
        pipe = client.pipeline(transaction=False)
        for queue, payloads in by_queue.items():
            pipe.lpush(queue, *payloads)
        pipe.execute()
    return len(pairs)
