"""Sending node messages: ``(workflow_id, node_id, token)`` and nothing else.

A message's size never depends on the workflow's size. A send that fails (broker away) is
logged and left to the reconciler: the node's lease expires and it is sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import Celery

TASK_NAME = "cephflow.run_node"
log = logging.getLogger(__name__)


def send(app: Celery, wf: str, pairs: Iterable[tuple[str, str]], *,
         countdown: float | None = None) -> int:
    """Publish one message per (node, token); returns how many were published."""
    pairs = list(pairs)
    if not pairs:
        return 0
    sent = 0
    try:
        with app.producer_or_acquire() as producer:
            for node, token in pairs:
                app.send_task(TASK_NAME, args=(wf, node, token), countdown=countdown,
                              producer=producer)
                sent += 1
    except Exception as exc:  # noqa: BLE001 - any broker failure: the reconciler re-sends
        log.warning("workflow %s: %d message(s) not sent (%s); the reconciler will re-send them",
                    wf, len(pairs) - sent, exc)
    return sent
