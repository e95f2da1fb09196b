"""A submit that dies between writing its workflow and starting it (``WorkflowControl.write``
done, ``start`` never called) leaves the workflow ``submitting``. After
``submit_grace_seconds`` a worker's reconciler starts it when every write arrived, or removes
it (keys, index entry; it took no lock) and says so in its audit record. ``cancel`` ends a
submitting workflow at once, running nothing and leaving locks alone.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from cephflow.engine import keys
from cephflow.engine.reconciler import INCOMPLETE, STARTED_NOTE, finish_submit, reconcile_once
from cephflow.engine.state import NodeState, WorkflowState
from cephflow.errors import EngineError
from tests.engine.support import dag, node
from tests.fixtures.celery_worker import worker_with_client
from tests.fixtures.workflow_client import LONE_NAMESPACE as NAMESPACE
from tests.paths import CEPHFLOW, REPO

pytestmark = pytest.mark.services

NS = "cephflow-test-submit"


def meta_state(client, wf: str) -> str | None:
    return client.redis.hget(client.workflow_keys(wf).meta, "state")


def workflow_keys_left(client, wf: str) -> list[str]:
    return client.redis.keys(client.workflow_keys(wf).base + "*")


def test_a_complete_submit_left_unstarted_is_started_by_a_workers_reconciler(
        redis_server, tmp_path):
    d = dag(node("a"), node("b", after=["a"]), locks=["host-a"])
    env = {"CEPHFLOW_SUBMIT_GRACE_SECONDS": "1"}
    with worker_with_client(redis_server, tmp_path, namespace=NS, name="submit",
                            env=env) as (_, client):
        wf = client.write(d, user="tester")  # the submit dies here: start never comes
        assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
        assert {k: int(v) for k, v in client.redis.hgetall(f"{NS}:test:{wf}:runs").items()} \
            == {"a": 1, "b": 1}
        audit = client.audit(wf)
        assert audit["outcome"] == WorkflowState.SUCCEEDED and audit["note"] == STARTED_NOTE
        assert client.redis.zscore(keys.submitting(NS), wf) is None
        assert wf in [s.id for s in client.list_workflows()]
        assert client.redis.get(keys.lock(NS, "ceph", "host-a")) is None  # taken, then released


def test_an_incomplete_submit_is_removed_after_the_grace_and_the_audit_says_so(lone_client):
    client = lone_client  # no worker takes what the reconciler sends
    d = dag(node("a"), node("b", after=["a"]), locks=["host-a"])
    wf = client.write(d, user="tester")
    # the submit died before its last batch: the 'written' mark (and the order) never came
    client.redis.hdel(client.workflow_keys(wf).meta, "written")
    client.redis.delete(client.workflow_keys(wf).order)
    # within the grace nothing happens
    assert reconcile_once(client.redis, client.transitions, client.app, NAMESPACE,
                          submit_grace=300) == 0
    assert meta_state(client, wf) == WorkflowState.SUBMITTING
    assert reconcile_once(client.redis, client.transitions, client.app, NAMESPACE,
                          submit_grace=0) == 0
    assert workflow_keys_left(client, wf) == []
    assert client.redis.zscore(keys.submitting(NAMESPACE), wf) is None
    assert client.redis.zscore(keys.workflows(NAMESPACE), wf) is None
    assert client.redis.exists(keys.lock(NAMESPACE, "ceph", "host-a")) == 0
    assert client.redis.llen(NAMESPACE) == 0  # nothing was sent
    audit = client.audit(wf)
    assert audit["outcome"] == INCOMPLETE and "ended_at" in audit
    # the submit wakes up after all: its start finds nothing, fails and leaves nothing
    with pytest.raises(EngineError, match="removed before it started"):
        client.start(wf, d, "tester")
    assert workflow_keys_left(client, wf) == []


def test_a_complete_submit_is_started_by_reconcile_once_once_its_grace_is_over(lone_client):
    client = lone_client  # no worker takes what the reconciler sends
    d = dag(node("a"), node("b"), node("c", after=["a"]))
    wf = client.write(d, user="tester")
    assert reconcile_once(client.redis, client.transitions, client.app, NAMESPACE,
                          submit_grace=300) == 0
    assert client.redis.llen(NAMESPACE) == 0
    assert reconcile_once(client.redis, client.transitions, client.app, NAMESPACE,
                          submit_grace=0) == 2
    assert meta_state(client, wf) == WorkflowState.RUNNING
    assert client.redis.llen(NAMESPACE) == 2  # a and b, once
    assert reconcile_once(client.redis, client.transitions, client.app, NAMESPACE,
                          submit_grace=0) == 0
    # a second reconciler that read it as overdue before the first started it does nothing
    assert finish_submit(client.redis, client.transitions, client.app, wf) == 0
    assert meta_state(client, wf) == WorkflowState.RUNNING
    assert client.redis.llen(NAMESPACE) == 2


def test_cancel_of_a_submitting_workflow_ends_it_and_runs_nothing(lone_client):
    client = lone_client  # no worker takes what the reconciler sends
    d = dag(node("a"), node("b", after=["a"]), node("undo", cleanup=True), locks=["host-a"])
    wf = client.write(d, user="tester")
    client.redis.set(keys.lock(NAMESPACE, "ceph", "host-a"), "someone-else")
    client.cancel(wf, user="tester")
    assert meta_state(client, wf) == WorkflowState.CANCELLED
    assert client.state(wf) is WorkflowState.CANCELLED
    snap = client.snapshot(wf)
    assert {n.id: n.state for n in snap.nodes.values()} == {
        "a": NodeState.CANCELLED, "b": NodeState.CANCELLED, "undo": NodeState.CANCELLED}
    assert client.redis.llen(NAMESPACE) == 0
    assert client.redis.get(keys.lock(NAMESPACE, "ceph", "host-a")) == "someone-else"
    audit = client.audit(wf)
    assert audit["outcome"] == WorkflowState.CANCELLED and audit["cancelled_by"] == "tester"
    assert client.redis.zscore(keys.submitting(NAMESPACE), wf) is None
    # a submit that wakes up later starts nothing; the reconciler has nothing to finish
    assert client.transitions.start(wf).sends == []
    assert reconcile_once(client.redis, client.transitions, client.app, NAMESPACE,
                          submit_grace=0) == 0
    assert client.redis.llen(NAMESPACE) == 0


def test_cephflow_cancel_ends_a_submitting_workflow(lone_client, redis_url):
    client = lone_client  # no worker takes what the reconciler sends
    wf = client.write(dag(node("a")), user="tester")
    env = dict(os.environ, CEPHFLOW_REDIS_URL=redis_url, CEPHFLOW_NAMESPACE=NAMESPACE,
               NO_COLOR="1")
    done = subprocess.run([CEPHFLOW, "cancel", wf], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert meta_state(client, wf) == WorkflowState.CANCELLED
    assert client.snapshot(wf).nodes["a"].state is NodeState.CANCELLED
    assert client.redis.llen(NAMESPACE) == 0
