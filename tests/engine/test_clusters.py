"""Two clusters on one Redis, one worker each on its cluster's queue (real Redis, real
Celery workers): each workflow's steps run only on its cluster's worker, with its cluster's
settings; a lock is per cluster; ``max_workflows`` is per cluster; a step that reaches a
worker of another cluster is sent back to its queue, or failed when an explicit route keeps
sending it there, never run.
"""

from __future__ import annotations

import json

import pytest

from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import NodeState, WorkflowState
from cephflow.errors import ClusterBusy, LockHeld
from cephflow.settings import CelerySettings, Settings
from tests.engine.recorded import recorded
from tests.engine.support import dag, node
from tests.fixtures.celery_worker import CeleryWorker
from tests.fixtures.services import wait_until

pytestmark = pytest.mark.services

NS = "cfclusters"
CLUSTERS = {"par1": {"smtp": {"sender": "par1@example"}, "max_workflows": 2},
            "gra2": {"region": "gra", "smtp": {"sender": "gra2@example"}}}
QUEUES = [f"{NS}.cluster.par1", f"{NS}.region.gra"]


@pytest.fixture
def clean(redis_server):
    def flush() -> None:
        redis_server.flush_namespace(NS)
        with redis_server.client() as c:
            c.delete(*QUEUES)

    flush()
    yield
    flush()


def settings(redis_server, **more) -> Settings:
    return Settings(redis_url=redis_server.url, namespace=NS, lease_seconds=3.0,
                    clusters=CLUSTERS, **more)


def worker(redis_server, tmp_path, cluster: str, **env: str) -> CeleryWorker:
    return CeleryWorker(redis_server.url, tmp_path, namespace=NS, name=cluster, env={
        "CEPHFLOW_CLUSTERS": json.dumps(CLUSTERS), "CEPHFLOW_WORKER_CLUSTERS": cluster, **env})


def ran_on(client: WorkflowClient, wf: str) -> set[str]:
    """The Celery worker names (``<name>-<pid>@host``) that ran the workflow's steps."""
    nodes = client.snapshot(wf).nodes.values()
    assert all(n.worker for n in nodes), {n.id: n.worker for n in nodes}
    return {n.worker.split()[0].split("-")[0] for n in nodes}


def senders(client: WorkflowClient, wf: str) -> set[str]:
    seen = client.redis.hgetall(recorded(NS, wf, "settings")).values()
    return {json.loads(v)["sender"] for v in seen}


def test_each_workflow_runs_only_on_its_clusters_worker_and_locks_are_per_cluster(
        redis_server, tmp_path, clean):
    workers = [worker(redis_server, tmp_path, c).start() for c in ("par1", "gra2")]
    client = WorkflowClient(settings(redis_server))
    try:
        held = {}
        for cluster in ("par1", "gra2"):
            d = dag(node("gate", task="test.wait_fact", args={"key": "go"}),
                    *(node(f"s[{i}]", task="test.settings", step="s", after=["gate"])
                      for i in range(4)), locks=["host:lab-b"])
            held[cluster] = client.submit(d, cluster=cluster)
        # host:lab-b on both clusters at once: both granted; a second on one cluster: refused
        with pytest.raises(LockHeld) as caught:
            client.submit(dag(node("x"), locks=["host:lab-b"]), cluster="par1")
        assert (caught.value.lock, caught.value.holder) == ("host:lab-b", held["par1"])
        for wf in held.values():
            client.set_fact(wf, "go", True)
        for cluster, wf in held.items():
            assert client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
            snap = client.snapshot(wf)
            assert snap.cluster == cluster
            assert ran_on(client, wf) == {cluster}
            assert senders(client, wf) == {f"{cluster}@example"}
    finally:
        for w in workers:
            w.stop()
        client.close()


def test_max_workflows_is_per_cluster_and_refuses_naming_the_running_ones(
        redis_server, tmp_path, clean):
    w = worker(redis_server, tmp_path, "par1").start()
    client = WorkflowClient(settings(redis_server))
    try:
        waiting = dag(node("gate", task="test.wait_fact", args={"key": "go"}))
        first = [client.submit(waiting, cluster="par1") for _ in range(2)]
        with pytest.raises(ClusterBusy) as caught:
            client.submit(waiting, cluster="par1")
        assert str(caught.value) == (f"cluster 'par1' runs 2 workflows at once at most "
                                     f"(max_workflows) and runs {', '.join(sorted(first))}")
        other = client.submit(waiting, cluster="gra2")  # gra2 has no limit: not refused
        client.cancel(other)
        client.set_fact(first[0], "go", True)
        assert client.wait(first[0], timeout=60) is WorkflowState.SUCCEEDED
        third = client.submit(waiting, cluster="par1")  # one ended: a place is free
        for wf in (first[1], third):
            client.set_fact(wf, "go", True)
            assert client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
    finally:
        w.stop()
        client.close()


def test_a_step_that_reaches_another_clusters_worker_is_sent_back_to_its_queue(
        redis_server, tmp_path, clean):
    par1 = worker(redis_server, tmp_path, "par1").start()
    # a sender whose settings send gra2's steps to par1's queue (an older configuration)
    stale = dict(CLUSTERS, gra2={**CLUSTERS["gra2"], "queue": QUEUES[0]})
    client = WorkflowClient(Settings(redis_url=redis_server.url, namespace=NS,
                                     lease_seconds=3.0, clusters=stale))
    gra2 = None
    try:
        wf = client.submit(dag(node("a")), cluster="gra2")
        wait_until(lambda: "sent back to queue" in par1.output(), timeout=30,
                   what="par1's worker sends gra2's step back")
        assert client.snapshot(wf).nodes["a"].state is NodeState.QUEUED  # not run on par1
        gra2 = worker(redis_server, tmp_path, "gra2").start()
        assert client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
        assert ran_on(client, wf) == {"gra2"}
    finally:
        for w in (par1, gra2):
            if w is not None:
                w.stop()
        client.close()


def test_an_explicit_route_to_a_queue_of_another_cluster_fails_the_step_never_runs_it(
        redis_server, tmp_path, clean):
    routes = {"test.record": QUEUES[0]}  # explicit configuration wins over the cluster
    par1 = worker(redis_server, tmp_path, "par1",
                  CEPHFLOW_CELERY__TASK_ROUTES=json.dumps(routes)).start()
    client = WorkflowClient(settings(redis_server, celery=CelerySettings(task_routes=routes)))
    try:
        wf = client.submit(dag(node("a")), cluster="gra2")
        assert client.wait(wf, timeout=60) is WorkflowState.FAILED
        error = client.snapshot(wf).nodes["a"].error
        assert error.startswith("not run: a step of cluster 'gra2' reached worker par1-")
        assert (f"which serves par1 only, through queue '{QUEUES[0]}' (celery.task_routes "
                "sends 'test.record' there)") in error
        assert client.redis.hgetall(recorded(NS, wf, "runs")) == {}
    finally:
        par1.stop()
        client.close()


def test_a_lock_held_under_the_key_of_before_clusters_still_blocks_the_name(
        redis_server, clean):
    """A workflow submitted by a version without per-cluster locks, still running across the
    upgrade, holds ``<ns>:lock:<name>``: a new submit that needs that lock is refused."""
    client = WorkflowClient(settings(redis_server))
    try:
        client.redis.set(f"{NS}:lock:host:lab-b", "0ldw0rkf10w")
        for cluster in ("par1", "gra2"):
            with pytest.raises(LockHeld) as caught:
                client.submit(dag(node("x"), locks=["host:lab-b"]), cluster=cluster)
            assert (caught.value.lock, caught.value.holder) == ("host:lab-b", "0ldw0rkf10w")
        assert client.list_workflows(None) == []  # refused: nothing submitted
        client.redis.delete(f"{NS}:lock:host:lab-b")  # that workflow ended
        wf = client.submit(dag(node("x"), locks=["host:lab-b"]), cluster="par1")
        assert client.redis.get(f"{NS}:lock:par1:host:lab-b") == wf
    finally:
        client.close()
