"""Sending node messages: ``(workflow_id, node_id, token)`` and nothing else.

A message's size never depends on the workflow's size. Immediate messages are written the way
kombu's Redis transport writes them (Celery task protocol 2, one ``LPUSH`` per batch, through
the engine's own Redis client): publishing through ``send_task`` costs ~0.5 ms a message,
which at 10,000 nodes is most of the engine's overhead over a bare Celery group. Delayed
messages (polls, retries) go through ``send_task`` with a countdown. A send that fails
(broker away) is logged and left to the reconciler: the node's lease expires and it is sent
again.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import uuid
from collections.abc import Iterable

import redis
from celery import Celery, signals

TASK_NAME = "cephflow.run_node"
log = logging.getLogger(__name__)
_ORIGIN = f"gen{os.getpid()}@{socket.gethostname()}"
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def send(app: Celery, wf: str, pairs: Iterable[tuple[str, str]], *,
         countdown: float | None = None, client: redis.Redis | None = None) -> int:
    """Publish one message per (node, token); returns how many were published."""
    pairs = list(pairs)
    if not pairs:
        return 0
    try:
        if countdown is None and client is not None:
            return _push(app, client, wf, pairs)
        sent = 0
        with app.producer_or_acquire() as producer:
            for node, token in pairs:
                app.send_task(TASK_NAME, args=(wf, node, token), countdown=countdown,
                              producer=producer)
                sent += 1
        return sent
    except Exception as exc:  # noqa: BLE001 - any broker failure: the reconciler re-sends
        log.warning("workflow %s: message(s) for %d node(s) not sent (%s); the reconciler will "
                    "re-send them", wf, len(pairs), exc)
        return 0


def _push(app: Celery, client: redis.Redis, wf: str, pairs: list[tuple[str, str]]) -> int:
    queue = app.conf.task_default_queue
    hooked = bool(signals.before_task_publish.receivers)
    payloads = []
    for node, token in pairs:
        args = [wf, node, token]
        task_id = str(uuid.uuid4())
        body = [args, {}, _EMBED]
        headers = {
            "lang": "py", "task": TASK_NAME, "id": task_id, "shadow": None, "eta": None,
            "expires": None, "group": None, "group_index": None, "retries": 0,
            "timelimit": [None, None], "root_id": task_id, "parent_id": None,
            "argsrepr": repr(tuple(args)), "kwargsrepr": "{}", "origin": _ORIGIN,
            "ignore_result": True, "replaced_task_nesting": 0, "stamped_headers": None,
            "stamps": {},
        }
        if hooked:
            signals.before_task_publish.send(sender=TASK_NAME, body=body, exchange="",
                                             routing_key=queue, headers=headers,
                                             properties={}, declare=[], retry_policy=None)
        payloads.append(json.dumps({
            "body": base64.b64encode(json.dumps(body).encode()).decode(),
            "content-encoding": "utf-8", "content-type": "application/json",
            "headers": headers,
            "properties": {
                "correlation_id": task_id, "reply_to": "", "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": queue}, "priority": 0,
                "body_encoding": "base64", "delivery_tag": str(uuid.uuid4()),
            },
        }))
    client.lpush(queue, *payloads)
    return len(payloads)
