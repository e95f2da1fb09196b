"""A node's kept progress (the ``progress`` hash): written with a progress line that carries
one, left alone by lines that do not, read by snapshots and followers alike, and gone when a
resume or a retry runs the node again. Driven through the Lua wrappers on a real Redis."""

from __future__ import annotations

import json

import pytest

from cephflow.engine import keys
from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import WorkflowState
from cephflow.settings import Settings
from tests.engine.support import dag, node
from tests.fixtures.celery_worker import LEASE_SECONDS
from tests.fixtures.redis_server import NAMESPACE

pytestmark = pytest.mark.services
QUIET = f"{NAMESPACE}-progress"
"""A namespace no test worker consumes: the test plays the worker."""

MOVED = {"movement": {"osds": {"4": {"weight": 0.5, "target": 0.0, "start": 1.0}},
                      "misplaced_objects": 526, "degraded_objects": 0, "rate": 20.0,
                      "eta_seconds": 26.3, "waiting": ["waiting: 19 PGs backfilling > 18"]}}


@pytest.fixture
def client(redis_url) -> WorkflowClient:
    c = WorkflowClient(Settings(redis_url=redis_url, namespace=QUIET, lease_seconds=LEASE_SECONDS))
    yield c
    names = list(c.redis.scan_iter(match=f"{QUIET}*", count=5000))
    if names:
        c.redis.delete(*names)
    c.close()


def _token(client, wf: str, node_id: str) -> str:
    return client.redis.hget(keys.WorkflowKeys(client.ns, wf).token, node_id)


def _fail_after_progress(client, wf: str) -> None:
    tr = client.transitions
    assert tr.claim(wf, "a", _token(client, wf, "a")).status == "run"
    tr.progress(wf, "a", "waiting", {"progress": MOVED})
    tr.progress(wf, "a", "osd.4 weight 0.5 → 0.25", {"osd": 4})  # a line without progress
    assert tr.complete(wf, "a", _token(client, wf, "a"), "failed", "boom").status == "ok"


def test_progress_is_kept_read_and_followed_and_a_line_without_one_leaves_it(client):
    wf = client.submit(dag(node("a")), user="tester")
    follower = client.snapshot(wf)
    assert follower.nodes["a"].progress is None
    _fail_after_progress(client, wf)
    fresh = client.snapshot(wf)
    assert fresh.nodes["a"].progress == MOVED and fresh.nodes["a"].detail == "osd.4 weight 0.5 → 0.25"
    for event in client.events(wf, follower.last_event_id, count=1000):
        follower.apply(event)
    assert follower.nodes["a"].progress == MOVED
    # what status --json prints
    dumped = json.loads(fresh.model_dump_json())
    assert dumped["nodes"]["a"]["progress"]["movement"]["eta_seconds"] == 26.3


@pytest.mark.parametrize("again", ["resume", "retry"])
def test_running_a_node_again_forgets_its_last_runs_progress(client, again):
    wf = client.submit(dag(node("a")), user="tester")
    _fail_after_progress(client, wf)
    follower = client.snapshot(wf)
    assert client.state(wf) is WorkflowState.FAILED
    if again == "resume":
        client.resume(wf, user="tester")
    else:
        client.retry(wf, "a", user="tester")
    assert client.redis.hget(keys.WorkflowKeys(client.ns, wf).progress, "a") is None
    assert client.snapshot(wf).nodes["a"].progress is None
    for event in client.events(wf, follower.last_event_id, count=1000):
        follower.apply(event)
    assert follower.nodes["a"].progress is None
