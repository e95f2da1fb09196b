"""Named clusters through the real ``cephflow`` entry point, against a real redis-server: a
``cephflow worker --cluster`` serves its cluster's steps only, ``run --cluster`` and the tree
and list show the cluster, ``status --cluster`` filters, and a missing or unknown cluster is a
clear error (exit 2) that changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from cephflow.engine.client import WorkflowClient
from cephflow.settings import Settings
from tests.fixtures.services import stop_process, wait_until
from tests.paths import CEPHFLOW, REPO

pytestmark = [pytest.mark.services]

NS = "cfclicl"
CONFIG = """\
[clusters.par1]
region = "eu-west"
[clusters.gra2]
"""
RUNBOOK = """\
name: hello
params:
  host: {type: str}
locks: ["host:{{ host }}"]
steps:
  - id: say
    task: core.log
    with: {message: "hello {{ host }}"}
"""


@pytest.fixture
def setup(redis_server, tmp_path):
    redis_server.flush_namespace(NS)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    (tmp_path / "hello.yaml").write_text(RUNBOOK)
    env = dict(os.environ, CEPHFLOW_REDIS_URL=redis_server.url, CEPHFLOW_NAMESPACE=NS,
               CEPHFLOW_CONFIG=str(config), COLUMNS="200", NO_COLOR="1")
    client = WorkflowClient(Settings(redis_url=redis_server.url, namespace=NS,
                                     clusters={"par1": {"region": "eu-west"}, "gra2": {}}))
    yield env, client
    client.close()
    redis_server.flush_namespace(NS)
    with redis_server.client() as c:
        c.delete(f"{NS}.region.eu-west", f"{NS}.cluster.gra2")


def cephflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CEPHFLOW, *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_a_cluster_worker_runs_its_clusters_workflows_and_status_filters_by_cluster(
        setup, tmp_path):
    env, client = setup
    book = str(tmp_path / "hello.yaml")
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen([CEPHFLOW, "worker", "-c", "1", "--cluster", "par1"], env=env,
                              cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        wait_until(lambda: worker.poll() is not None or b"ready." in
                   (tmp_path / "worker.log").read_bytes(), timeout=60, what="worker ready")
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        done = cephflow(env, "run", book, "--host", "lab-b", "--cluster", "par1")
        assert done.returncode == 0, done.stdout + done.stderr
        # the same lock on the other cluster is free; its step waits for a gra2 worker
        other = cephflow(env, "run", book, "--host", "lab-b", "--cluster", "gra2", "--detach")
        assert other.returncode == 0, other.stdout + other.stderr
        [gra2] = [s.id for s in client.list_workflows() if s.cluster == "gra2"]
        assert client.snapshot(gra2).nodes["say"].state.value == "queued"
        listed = cephflow(env, "status")
        assert listed.returncode == 0 and "cluster" in listed.stdout.splitlines()[0]
        assert "par1" in listed.stdout and "gra2" in listed.stdout
        only = cephflow(env, "status", "--cluster", "gra2", "--json")
        assert [s["cluster"] for s in json.loads(only.stdout)] == ["gra2"]
    finally:
        stop_process(worker, group=True, grace=20)
        log.close()
    client.cancel(gra2)


@pytest.mark.parametrize(("args", "message"), [
    (["plan", "{book}", "--host", "x"], "error: several clusters are configured (par1, gra2) "
     "and none is the default: name one with --cluster"),
    (["run", "{book}", "--host", "x", "--cluster", "par2"],
     "error: no cluster 'par2' (configured: par1, gra2)"),
    (["status", "--cluster", "par2"], "error: no cluster 'par2' (configured: par1, gra2)"),
    (["worker", "--cluster", "gra2,par2"], "error: no cluster 'par2' (configured: par1, gra2)"),
])
def test_a_missing_or_unknown_cluster_is_refused_and_nothing_is_submitted(
        setup, tmp_path, redis_server, args, message):
    env, client = setup
    result = cephflow(env, *(a.replace("{book}", str(tmp_path / "hello.yaml")) for a in args))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines()[0] == message
    assert client.list_workflows() == []
