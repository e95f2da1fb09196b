"""A step that no worker takes: the snapshot knows since when it has been queued.

Submitted in a namespace no worker serves, the roots stay queued; ``snapshot`` dates them
from their leases (set at dispatch and renewed only by a worker's reconciler), and a follower
folding the events dates them from the queued event. The live tree then says that no worker
has run the step.
"""

from __future__ import annotations

import time

import pytest

from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import NodeState
from cephflow.settings import Settings
from tests.engine.support import dag, node

pytestmark = pytest.mark.services

IDLE = "cfidle"


def test_a_queued_step_is_dated_from_its_dispatch(redis_server):
    redis_server.flush_namespace(IDLE)
    client = WorkflowClient(Settings(redis_url=redis_server.url, namespace=IDLE,
                                     lease_seconds=30.0))
    try:
        before = time.time()
        wf = client.submit(dag(node("a"), node("b", after=["a"])), user="t")
        after = time.time()
        snap = client.snapshot(wf)
        assert snap.nodes["a"].state is NodeState.QUEUED
        assert before - 1 <= snap.nodes["a"].queued_since <= after + 1
        assert snap.nodes["b"].queued_since is None  # pending: not sent to anyone yet
        folded = snap.model_copy(deep=True)  # a follower that saw nothing yet
        folded.last_event_id = "0-0"
        for n in folded.nodes.values():
            n.state, n.queued_since = NodeState.PENDING, None
        for event in client.events(wf, count=1000):
            folded.apply(event)
        assert folded.nodes["a"].queued_since == pytest.approx(snap.nodes["a"].queued_since, abs=1)
    finally:
        client.close()
        redis_server.flush_namespace(IDLE)
