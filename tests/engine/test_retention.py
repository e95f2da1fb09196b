"""A finished workflow's keys expire after ``retention_days``; its audit record stays."""

from __future__ import annotations

import pytest

from cephflow.engine import keys
from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import WorkflowState
from cephflow.errors import WorkflowNotFound
from cephflow.settings import Settings
from tests.engine.support import dag, node
from tests.fixtures.celery_worker import LEASE_SECONDS
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import wait_until

pytestmark = pytest.mark.services


def client_keeping(redis_url: str, seconds: float) -> WorkflowClient:
    return WorkflowClient(Settings(redis_url=redis_url, namespace=NAMESPACE,
                                   lease_seconds=LEASE_SECONDS, retention_days=seconds / 86400))


def workflow_keys(client: WorkflowClient, wf: str) -> list[str]:
    return sorted(client.redis.scan_iter(match=f"{keys.WorkflowKeys(NAMESPACE, wf).base}*"))


def memo_node(client: WorkflowClient, wf: str) -> None:
    """A memo, as a task keeps one (its key is per node, outside the script's key list)."""
    client.redis.hset(keys.WorkflowKeys(NAMESPACE, wf).memo("a"), "tries", "1")


def test_an_ended_workflow_expires_but_its_audit_record_stays(redis_url, celery_worker):
    client = client_keeping(redis_url, 2.0)
    try:
        wf = client.submit(dag(node("a"), node("fin", cleanup=True)), user="tester")
        memo_node(client, wf)
        assert client.wait(wf, timeout=20) is WorkflowState.SUCCEEDED
        names = workflow_keys(client, wf)
        assert len(names) > 10 and keys.WorkflowKeys(NAMESPACE, wf).memo("a") in names
        ttls = {k: client.redis.pttl(k) for k in names}
        assert all(0 < t <= 2000 for t in ttls.values()), ttls
        audit = keys.audit(NAMESPACE, wf)
        assert client.redis.pttl(audit) == -1
        wait_until(lambda: not workflow_keys(client, wf), timeout=10, what="keys to expire")
        assert client.audit(wf)["outcome"] == "succeeded"
        with pytest.raises(WorkflowNotFound):
            client.resume(wf, user="tester")
        with pytest.raises(WorkflowNotFound):
            client.snapshot(wf)
        assert [s.id for s in client.list_workflows(10)] == []
        # the listing dropped the expired id from the indexes too
        assert client.redis.zscore(keys.workflows(NAMESPACE), wf) is None
        with pytest.raises(WorkflowNotFound):
            client.resolve_id(wf[:6])
    finally:
        client.close()


def test_a_resumed_workflow_does_not_expire_while_it_runs_again(redis_url, celery_worker):
    client = client_keeping(redis_url, 600.0)
    try:
        wf = client.submit(dag(node("a", task="test.fail", args={"fixed_by": "fixed"}),
                               node("w", task="test.wait_fact", args={"key": "go"},
                                    after=["a"])), user="tester")
        memo_node(client, wf)
        assert client.wait(wf, timeout=20) is WorkflowState.FAILED
        meta = keys.WorkflowKeys(NAMESPACE, wf).meta
        assert client.redis.pttl(meta) > 590_000
        client.set_fact(wf, "fixed", True)
        client.resume(wf, user="tester")
        assert all(client.redis.pttl(k) == -1 for k in workflow_keys(client, wf))
        client.set_fact(wf, "go", True)
        assert client.wait(wf, timeout=20) is WorkflowState.SUCCEEDED
        assert all(client.redis.pttl(k) > 590_000 for k in workflow_keys(client, wf))
    finally:
        client.close()


def test_retention_zero_keeps_workflows(redis_url, celery_worker):
    client = client_keeping(redis_url, 0)
    try:
        wf = client.submit(dag(node("a")), user="tester")
        assert client.wait(wf, timeout=20) is WorkflowState.SUCCEEDED
        assert all(client.redis.pttl(k) == -1 for k in workflow_keys(client, wf))
    finally:
        client.close()
