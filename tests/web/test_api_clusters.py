"""The API with named clusters (a real ``cephflow serve`` and Redis): plan and submit take
the cluster, the list filters by it, and an unknown or missing cluster is a 422 that submits
nothing."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.redis_server import NAMESPACE

pytestmark = pytest.mark.services

CLUSTERS = {"par1": {"region": "eu-west"}, "gra2": {}}


@pytest.fixture
def api(redis_server, redis_url, tmp_path, monkeypatch):
    from tests.fixtures.api_server import start_api_server

    redis_server.flush_namespace(NAMESPACE)
    monkeypatch.setenv("CEPHFLOW_CLUSTERS", json.dumps(CLUSTERS))
    server = start_api_server(redis_server, tmp_path, api="auth_failures_per_minute = 100000")
    yield server
    server.stop()
    redis_server.flush_namespace(NAMESPACE)
    with redis_server.client() as c:
        c.delete(f"{NAMESPACE}.region.eu-west", f"{NAMESPACE}.cluster.gra2")


def test_plan_submit_and_list_name_the_cluster(api):
    params = {"who": "ann", "times": "1"}
    with api.client("operator") as http:
        plan = http.post("/runbooks/api-gate/plan", json={"params": params, "cluster": "par1"})
        assert plan.status_code == 200, plan.text
        assert plan.json()["cluster"] == "par1"
        unknown = http.post("/runbooks/api-gate/plan", json={"params": params, "cluster": "x"})
        assert unknown.status_code == 422
        assert unknown.json()["error"] == "no cluster 'x' (configured: par1, gra2)"
        missing = http.post("/workflows", json={"runbook": "api-gate", "params": params})
        assert missing.status_code == 422 and "several clusters" in missing.json()["error"]
        assert http.get("/workflows").json() == []  # nothing was submitted
        made = http.post("/workflows", json={"runbook": "api-gate", "params": params,
                                             "cluster": "gra2"})
        assert made.status_code == 201, made.text
        wf = made.json()["id"]
        listed = http.get("/workflows", params={"cluster": "gra2"}).json()
        assert [(w["id"], w["cluster"]) for w in listed] == [(wf, "gra2")]
        assert http.get("/workflows", params={"cluster": "par1"}).json() == []
        assert http.get("/workflows", params={"cluster": "x"}).status_code == 422
        assert http.get(f"/workflows/{wf}").json()["cluster"] == "gra2"
