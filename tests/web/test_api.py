"""The REST API through a real ``cephflow serve`` (uvicorn), a real redis-server and a real
Celery worker, driven with httpx as another service would drive it.

Each test checks what a wrong API would get wrong: a call without a token or with the wrong
role changes nothing, runbook errors carry the CLI's ``file:line:col``, a workflow submitted
over HTTP runs on the worker and its gate is decided as the token's user (the audit says
so), the gate's own approvers still apply, secrets never appear in an answer, and the event
stream resumes after ``Last-Event-ID``.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.fixtures.services import wait_until

pytestmark = [pytest.mark.services, pytest.mark.slow]

SECRET_DEFAULT = "hunter2-default"


def _submit(api, who: str = "operator", **params) -> str:
    with api.client("operator") as http:
        answer = http.post("/workflows", json={"runbook": "api-gate",
                                               "params": {"who": who, **params}})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def _node_state(api, wf: str, node: str) -> str:
    with api.client("viewer") as http:
        return http.get(f"/workflows/{wf}").json()["nodes"][node]["state"]


def test_no_token_is_401_and_a_wrong_one_too_and_nothing_is_submitted(api_server):
    api = api_server
    with api.client() as http:
        assert http.get("/workflows").status_code == 401
        refused = http.post("/workflows", json={"runbook": "api-gate", "params": {"who": "x"}})
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
    with httpx.Client(base_url=api.url + "/api/v1",
                      headers={"Authorization": "Bearer cfl_not-a-token"}) as http:
        assert http.get("/runbooks").status_code == 401
    with api.client("viewer") as http:
        assert http.get("/workflows").json() == []


def test_the_wrong_role_is_403_and_changes_nothing(api_server):
    api = api_server
    with api.client("viewer") as http:
        refused = http.post("/workflows", json={"runbook": "api-gate", "params": {"who": "v"}})
        assert refused.status_code == 403
        assert "operator" in refused.json()["error"]
        assert http.get("/workflows").json() == []
    wf = _submit(api)
    with api.client("operator") as http:  # an operator may not decide gates
        assert http.post(f"/workflows/{wf}/gates/confirm/approve").status_code == 403
    with api.client("alice") as http:  # an approver may not cancel
        assert http.post(f"/workflows/{wf}/cancel").status_code == 403
    wait_until(lambda: _node_state(api, wf, "approve-confirm") == "running", timeout=60,
               what="the gate waiting")
    assert _node_state(api, wf, "bye") == "pending"


def test_runbooks_are_listed_and_shown_with_params_but_never_a_secret(api_server):
    with api_server.client("viewer") as http:
        listed = {r["name"]: r for r in http.get("/runbooks").json()}
        assert listed["api-gate"]["description"].startswith("Greet")
        assert listed["replace-disk"]["shipped"] is True
        assert listed["api-broken"]["problem"] is None  # it loads; only compiling finds it
        shown = http.get("/runbooks/api-gate").json()
    params = {p["name"]: p for p in shown["params"]}
    assert params["who"]["required"] is True and params["who"]["type"] == "str"
    assert params["times"] == {**params["times"], "default": 2, "min": 1, "required": False}
    assert params["password"]["secret"] is True and params["password"]["default"] is None
    assert shown["steps"] == ["hello", "confirm", "bye"]
    assert SECRET_DEFAULT not in json.dumps(shown)


def test_a_path_is_no_runbook_name(api_server):
    with api_server.client("operator") as http:
        for name in ("..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", ".hidden"):
            answer = http.post(f"/runbooks/{name}/plan", json={})
            assert answer.status_code in (404, 422), (name, answer.text)
        assert http.post("/runbooks/no-such-book/plan", json={}).status_code == 404


def test_plan_gives_the_dag_and_runbook_errors_carry_file_line_col(api_server):
    with api_server.client("operator") as http:
        plan = http.post("/runbooks/api-gate/plan", json={"params": {"who": "ann", "times": "3"}})
        assert plan.status_code == 200, plan.text
        body = plan.json()
        assert body["steps"] == 4  # hello, the gate, confirm, bye
        nodes = {n["id"]: n for n in body["dag"]["nodes"]}
        assert nodes["hello"]["args"]["value"] == {"greeting": "hello ann", "times": 3}
        assert SECRET_DEFAULT not in plan.text

        broken = http.post("/runbooks/api-broken/plan", json={})
        assert broken.status_code == 422
        assert broken.json()["problems"][0].startswith("tests/web/runbooks/api-broken.yaml:7:")
        assert "nowhere" in broken.json()["error"]

        low = http.post("/runbooks/api-gate/plan", json={"params": {"who": "a", "times": 0}})
        assert low.status_code == 422 and "times" in low.json()["error"]
        missing = http.post("/runbooks/api-gate/plan", json={"params": {}})
        assert missing.status_code == 422 and "who" in missing.json()["error"]
        unknown = http.post("/runbooks/api-gate/plan", json={"parms": {"who": "a"}})
        assert unknown.status_code == 422 and "parms" in unknown.json()["error"]


def test_a_submitted_workflow_runs_and_its_gate_is_decided_as_the_tokens_user(api_server):
    api = api_server
    wf = _submit(api, who="ann")
    wait_until(lambda: _node_state(api, wf, "approve-confirm") == "running", timeout=60,
               what="the gate waiting")
    with api.client("bob") as http:  # an approver, but not among this gate's approvers
        refused = http.post(f"/workflows/{wf}/gates/confirm/approve")
        assert refused.status_code == 403 and "bob may not decide" in refused.json()["error"]
    with api.client("alice") as http:
        decided = http.post(f"/workflows/{wf}/gates/confirm/approve")
        assert decided.status_code == 200, decided.text
        assert decided.json()["gates"][0]["by"] == "alice"
    wait_until(lambda: _node_state(api, wf, "bye") == "succeeded", timeout=60, what="bye")
    with api.client("viewer") as http:
        snapshot = http.get(f"/workflows/{wf[:8]}").json()
        assert snapshot["state"] == "succeeded" and snapshot["submitted_by"] == "olga"
        history = http.get("/history", params={"workflow": wf}).json()
        assert [(h["action"], h["user"]) for h in history] == [("submitted", "olga"),
                                                               ("approved", "alice")]
        assert SECRET_DEFAULT not in json.dumps(snapshot) + json.dumps(history)
        step = http.get(f"/workflows/{wf}/steps/hello").json()
        assert step["output"] == {"greeting": "hello ann", "times": 2}
        tree = http.get(f"/workflows/{wf}/tree").json()
        assert [e["name"] for e in tree["entries"]] == ["hello", "approve-confirm", "confirm",
                                                        "bye"]
        assert tree["submitted_by"] == "olga" and tree["params"] == {"who": "ann"}
        assert http.get(f"/workflows/{wf}/steps/nope").status_code == 404
        listed = http.get("/workflows", params={"state": "succeeded", "user": "olga"}).json()
        assert [w["id"] for w in listed] == [wf]
        assert http.get("/workflows", params={"user": "someone-else"}).json() == []


def test_cancel_and_resume_are_audited_as_the_operator(api_server):
    api = api_server
    wf = _submit(api)
    wait_until(lambda: _node_state(api, wf, "approve-confirm") == "running", timeout=60,
               what="the gate waiting")
    with api.client("operator") as http:
        assert http.post(f"/workflows/{wf}/cancel").status_code == 200
        wait_until(lambda: http.get(f"/workflows/{wf}").json()["state"] == "cancelled",
                   timeout=60, what="cancelled")
        again = http.post(f"/workflows/{wf}/cancel")
        assert again.status_code == 409, again.text
        resumed = http.post(f"/workflows/{wf}/resume", json={})
        assert resumed.status_code == 200 and resumed.json()["workflow_id"] == wf
        history = http.get("/history", params={"workflow": wf}).json()
    assert [(h["action"], h["user"]) for h in history][-2:] == [("cancelled", "olga"),
                                                                ("resumed", "olga")]


def test_events_stream_as_sse_and_resume_after_last_event_id(api_server):
    api = api_server
    wf = _submit(api)
    wait_until(lambda: _node_state(api, wf, "approve-confirm") == "running", timeout=60,
               what="the gate waiting")
    with api.client("alice") as http:
        http.post(f"/workflows/{wf}/gates/confirm/approve").raise_for_status()
    wait_until(lambda: _node_state(api, wf, "bye") == "succeeded", timeout=60, what="the end")

    def read_all(headers: dict[str, str]) -> list[dict[str, str]]:
        events, current = [], {}
        with api.client("viewer") as http, http.stream("GET", f"/workflows/{wf}/events",
                                                       headers=headers) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines():
                if not line:
                    if current:
                        events.append(current)
                    current = {}
                elif not line.startswith(":"):
                    key, _, value = line.partition(": ")
                    current[key] = value
        return events

    every = read_all({})
    assert every[-1]["event"] == "end" and json.loads(every[-1]["data"]) == {"state": "succeeded"}
    ids = [e["id"] for e in every if "id" in e]
    assert len(ids) == len(set(ids)) >= 6
    middle = ids[len(ids) // 2]
    rest = read_all({"Last-Event-ID": middle})
    assert [e["id"] for e in rest if "id" in e] == ids[ids.index(middle) + 1:]
    with api.client("viewer") as http:
        bad = http.get(f"/workflows/{wf}/events", headers={"Last-Event-ID": "x; DROP"})
        assert bad.status_code == 422


def test_a_huge_body_is_413_and_bad_ids_are_4xx(api_server):
    with api_server.client("operator") as http:
        huge = http.post("/workflows", content=b'{"runbook": "api-gate", "params": {"who": "'
                         + b"x" * 2_000_000 + b'"}}', headers={"content-type": "application/json"})
        assert huge.status_code == 413
        assert http.get("/workflows/ffffffffffff").status_code == 404
        assert http.post("/workflows/ffffffffffff/cancel").status_code == 404
        assert http.get("/workflows", params={"state": "nonsense"}).status_code == 422
        assert http.get("/workflows", params={"limit": 0}).status_code == 422
        assert http.get("/workflows").json() == []


def test_the_openapi_document_lists_every_route_and_the_docs_page_is_served(api_server):
    document = httpx.get(api_server.url + "/api/v1/openapi.json").json()
    paths = set(document["paths"])
    assert {"/api/v1/runbooks", "/api/v1/runbooks/{name}", "/api/v1/runbooks/{name}/plan",
            "/api/v1/workflows", "/api/v1/workflows/{workflow_id}",
            "/api/v1/workflows/{workflow_id}/events", "/api/v1/history",
            "/api/v1/workflows/{workflow_id}/cancel", "/api/v1/workflows/{workflow_id}/resume",
            "/api/v1/workflows/{workflow_id}/gates/{step}/approve",
            "/api/v1/workflows/{workflow_id}/gates/{step}/reject", "/api/v1/schedules",
            "/api/v1/workflows/{workflow_id}/tree"} <= paths
    assert "swagger" in httpx.get(api_server.url + "/api/v1/docs").text.lower()


def test_too_many_failed_logins_from_an_address_get_429_even_with_a_good_token(
        redis_server, redis_url, celery_worker, tmp_path):
    from tests.fixtures.api_server import start_api_server

    api = start_api_server(redis_server, tmp_path, api="auth_failures_per_minute = 5")
    try:
        with httpx.Client(base_url=api.url + "/api/v1",
                          headers={"Authorization": "Bearer cfl_guess"}) as http:
            assert [http.get("/workflows").status_code for _ in range(5)] == [401] * 5
            limited = http.get("/workflows")
        assert limited.status_code == 429 and 0 < int(limited.headers["retry-after"]) <= 60
        assert "too many" in limited.json()["error"]
        with api.client("viewer") as http:
            assert http.get("/workflows").status_code == 429
    finally:
        api.stop()


def test_single_sign_on_through_a_trusted_proxy_only(redis_server, redis_url, celery_worker,
                                                     tmp_path):
    from tests.fixtures.api_server import start_api_server

    roles = 'proxy_roles = { carol = ["operator"] }'
    trusted = start_api_server(redis_server, tmp_path / "trusted",
                               api=f'proxy_user_header = "X-Remote-User"\n{roles}')
    try:
        with httpx.Client(base_url=trusted.url + "/api/v1") as http:
            me = http.get("/me", headers={"X-Remote-User": "carol"})
            assert me.status_code == 200 and me.json()["user"] == "carol"
            submitted = http.post("/workflows", headers={"X-Remote-User": "carol"},
                                  json={"runbook": "api-gate", "params": {"who": "x"}})
            assert submitted.status_code == 201 and submitted.json()["submitted_by"] == "carol"
            assert http.get("/me", headers={"X-Remote-User": "mallory"}).status_code == 403
            assert http.get("/me").status_code == 401
            # a token wins over the header, and a wrong token is not rescued by it
            wrong = http.get("/me", headers={"X-Remote-User": "carol",
                                             "Authorization": "Bearer cfl_wrong"})
            assert wrong.status_code == 401
    finally:
        trusted.stop()
    elsewhere = start_api_server(redis_server, tmp_path / "elsewhere", api=(
        f'proxy_user_header = "X-Remote-User"\nproxy_addresses = ["10.9.9.9"]\n{roles}'))
    try:
        answer = httpx.get(elsewhere.url + "/api/v1/me", headers={"X-Remote-User": "carol"})
        assert answer.status_code == 401  # not from the proxy: the header is not believed
    finally:
        elsewhere.stop()


def test_pause_holds_the_workflow_and_unpause_lets_it_finish(api_server):
    api = api_server
    wf = _submit(api, who="pat")
    wait_until(lambda: _node_state(api, wf, "approve-confirm") == "running", timeout=60,
               what="the gate waiting")
    with api.client("alice") as http:  # an approver may not pause
        assert http.post(f"/workflows/{wf}/pause", json={"reason": "x"}).status_code == 403
    with api.client("operator") as http:
        paused = http.post(f"/workflows/{wf}/pause", json={"reason": "change freeze"})
        assert paused.status_code == 200, paused.text
        assert paused.json()["already"] is False and paused.json()["flags"] == []
        tree = http.get(f"/workflows/{wf}/tree").json()
        assert tree["pause"]["by"] == "olga" and tree["pause"]["reason"] == "change freeze"
    with api.client("alice") as http:  # decided while paused: takes effect at unpause
        http.post(f"/workflows/{wf}/gates/confirm/approve").raise_for_status()
    with api.client("operator") as http:
        # the gate's next check is held too: nothing after it starts while paused
        assert _node_state(api, wf, "confirm") == "pending"
        resumed = http.post(f"/workflows/{wf}/resume", json={})  # resume unpauses it
        # resume unpaused it (the gate's next check may not have come back yet to be held)
        assert resumed.status_code == 200 and resumed.json()["unpaused"] is not None
        wait_until(lambda: _node_state(api, wf, "bye") == "succeeded", timeout=60, what="bye")
        assert http.post(f"/workflows/{wf}/unpause").status_code == 409  # not paused
        history = http.get("/history", params={"workflow": wf}).json()
    assert [(h["action"], h["user"]) for h in history if h["action"].endswith("paused")] == [
        ("paused", "olga"), ("unpaused", "olga")]
