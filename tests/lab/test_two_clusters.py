"""Two lab clusters at once (the session's lab and a small second one, each its own dir and
ports), one worker per cluster on its own queue: a workflow on each runs a real Ceph step
(``ceph.wait_healthy``) only on its cluster's worker, against its own cluster, both holding
``host:lab-b`` at the same time.
"""

from __future__ import annotations

import json

import pytest

from cephflow.ceph.access import client_for, forget_clients
from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import WorkflowState
from cephflow.lab.cluster import LabCluster
from cephflow.settings import CephSettings, Settings
from tests.engine.support import dag, node
from tests.fixtures.celery_worker import CeleryWorker

pytestmark = [pytest.mark.ceph, pytest.mark.services]

NS = "cftwolabs"
SMALL = {"LAB_OSDS_PER_HOST": "1", "LAB_PG_NUM": "8", "LAB_OBJECTS": "10"}
"""The second lab: 3 OSDs (one per host) and 8 PGs, against the session lab's 6 and 32 (two
hosts with pool size 2 never get clean: Ceph's own pool keeps the default size 3)."""


@pytest.fixture
def small_lab(tmp_path_factory):
    cluster = LabCluster(tmp_path_factory.mktemp("small-lab"), pool="smallpool", env=SMALL)
    cluster.start()
    try:
        yield cluster
    finally:
        forget_clients()
        cluster.stop()


def ceph_of(directory, conf) -> dict[str, str]:
    return {"conf": str(conf), "hosts_backend": "lab", "lab_dir": str(directory)}


def test_a_workflow_on_each_of_two_lab_clusters_runs_on_its_own_worker(
        ceph_lab, small_lab, redis_server, tmp_path):
    clusters = {"big": {"ceph": ceph_of(ceph_lab.dir, ceph_lab.conf)},
                "small": {"ceph": ceph_of(small_lab.dir, small_lab.conf)}}
    redis_server.flush_namespace(NS)
    workers = [CeleryWorker(redis_server.url, tmp_path, namespace=NS, name=name, env={
        "CEPHFLOW_CLUSTERS": json.dumps(clusters), "CEPHFLOW_WORKER_CLUSTERS": name,
        "CEPHFLOW_LAB": "true"}) for name in clusters]
    client = WorkflowClient(Settings(redis_url=redis_server.url, namespace=NS,
                                     lease_seconds=3.0, clusters=clusters))
    try:
        for w in workers:
            w.start()
        healthy = dag(node("healthy", task="ceph.wait_healthy", args={"settle": 0.5}),
                      locks=["host:lab-b"])
        submitted = {name: client.submit(healthy, cluster=name) for name in clusters}
        for name, wf in submitted.items():
            assert client.wait(wf, timeout=120) is WorkflowState.SUCCEEDED, \
                client.snapshot(wf).nodes["healthy"].error
            step = client.snapshot(wf).nodes["healthy"]
            assert step.worker.split("-")[0] == name  # its cluster's worker, nobody else
            own = client_for(Settings(ceph=CephSettings(**clusters[name]["ceph"])))
            assert f": {len(own.pg_ls().pgs)} PGs active+clean" in step.detail
    finally:
        for w in workers:
            w.stop()
        client.close()
        redis_server.flush_namespace(NS)
        with redis_server.client() as c:
            c.delete(*(f"{NS}.cluster.{name}" for name in clusters))
