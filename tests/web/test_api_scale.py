"""What makes the API hold up with big workflows and many clients, through a real
``cephflow serve``, redis-server and worker.

What a wrong server would get wrong: build a workflow's snapshot once per caller (Redis
counts the reads), serve a cached one after the workflow changed, read the event stream
once per follower, lose events for a follower that starts behind, or send a big workflow's
page every one of its steps.
"""

from __future__ import annotations

import json
import threading

import httpx
import psutil
import pytest

from cephflow.engine.client import WorkflowClient
from cephflow.runbook.dag import REDACTED
from cephflow.settings import Settings
from tests.fixtures.api_server import start_api_server
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import wait_until

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _submit(api, runbook: str, **params) -> str:
    with api.client("operator") as http:
        answer = http.post("/workflows", json={"runbook": runbook, "params": params})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def _at_gate(api, wf: str) -> None:
    def waiting() -> bool:
        with api.client("viewer") as http:
            nodes = http.get(f"/workflows/{wf}").json()["nodes"]
        return nodes["approve-confirm"]["state"] == "running"

    wait_until(waiting, timeout=90, what="the workflow waiting at its gate")


def _calls(redis_server, command: str) -> int:
    with redis_server.client() as r:
        return int(r.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


def _engine(redis_server) -> WorkflowClient:
    return WorkflowClient(Settings(redis_url=redis_server.url, namespace=NAMESPACE))


def _at_once(api, path: str, callers: int) -> list[httpx.Response]:
    """``callers`` GETs of ``path`` at once (each from its own connection)."""
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(callers)

    def get() -> None:
        with api.client("viewer") as http:
            barrier.wait()
            answers.append(http.get(path))

    threads = [threading.Thread(target=get) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


@pytest.fixture
def steady_api(redis_server, redis_url, celery_worker, tmp_path):
    """The API with no background refresh of a cached snapshot during a test (every build
    counted is one a change made)."""
    server = start_api_server(redis_server, tmp_path, api="auth_failures_per_minute = 100000\n"
                              "snapshot_max_age = 600")
    yield server
    server.stop()


def test_concurrent_gets_build_the_snapshot_once_and_a_change_shows_at_the_next_call(
        steady_api, redis_server):
    api = steady_api
    wf = _submit(api, "api-gate", who="ann")
    _at_gate(api, wf)
    engine = _engine(redis_server)
    try:
        for round_ in range(2):
            detail = f"change {round_}"
            engine.transitions.progress(wf, "hello", detail, {})  # one event, as a task's
            before = _calls(redis_server, "lrange")  # one LRANGE per snapshot build
            changed = engine.version(wf)
            answers = _at_once(api, f"/workflows/{wf}", 30)
            # the gate's own checks may append events meanwhile: each may cost one build more
            since = len(engine.events(wf, changed, count=1000))
            assert [a.status_code for a in answers] == [200] * 30
            # the change is in every answer, though the unchanged workflow was cached
            assert {a.json()["nodes"]["hello"]["detail"] for a in answers} == {detail}
            assert len({a.content for a in answers}) == 1
            assert {a.headers["content-encoding"] for a in answers} == {"gzip"}
            assert _calls(redis_server, "lrange") - before <= 1 + since, since
        with api.client("viewer") as http:  # the tree and a step read the same build
            plain = http.get(f"/workflows/{wf}", headers={"Accept-Encoding": "identity"})
            assert "content-encoding" not in plain.headers
            assert plain.content == answers[0].content
            assert http.get(f"/workflows/{wf}/tree").json()["entries"][0]["detail"] == detail
            assert http.get(f"/workflows/{wf}/steps/hello").json()["detail"] == detail
            assert "hello ann" in json.dumps(http.get(f"/workflows/{wf}/steps/hello").json()[
                "output"])
    finally:
        engine.close()


def _follow(api, wf: str, last: str | None, until: str, got: list[dict[str, str]],
            heard: list[int] | None = None) -> None:
    """Read ``wf``'s events after ``last`` into ``got`` until the one whose detail is
    ``until``; appends to ``heard`` at the first line the server sends (a keep-alive)."""
    headers = {"Last-Event-ID": last} if last else {}
    current: dict[str, str] = {}
    with api.client("viewer") as http, http.stream("GET", f"/workflows/{wf}/events",
                                                   headers=headers, timeout=60) as stream:
        for line in stream.iter_lines():
            if heard is not None and id(got) not in heard:
                heard.append(id(got))
            if line.startswith(":"):
                continue
            if line:
                name, _, value = line.partition(": ")
                current[name] = value
                continue
            if not current:
                continue
            got.append(current)
            if current.get("data") and json.loads(current["data"]).get("detail") == until:
                return
            current = {}


def _blocked_reads(engine: WorkflowClient) -> int:
    """Connections to Redis waiting in an XREAD BLOCK."""
    return sum(1 for c in engine.redis.client_list()
               if c["cmd"] == "xread" and "b" in c["flags"])


def test_followers_share_one_reader_and_one_from_the_start_misses_nothing(
        api_server, redis_server):
    api = api_server
    wf = _submit(api, "api-gate", who="ann")
    _at_gate(api, wf)
    engine = _engine(redis_server)
    try:
        last = engine.version(wf)
        everything = engine.events(wf, "0-0", count=10_000)
        followers = 20
        got: list[list[dict[str, str]]] = [[] for _ in range(followers + 1)]
        heard: list[int] = []
        threads = [threading.Thread(target=_follow, args=(api, wf, last, "p49", got[i], heard))
                   for i in range(followers)]
        for t in threads:
            t.start()
        wait_until(lambda: len(heard) == followers, timeout=30,
                   what="every follower hearing from the server")
        assert _blocked_reads(engine) == 1  # one XREAD BLOCK for all of them
        for i in range(50):
            engine.transitions.progress(wf, "hello", f"p{i}", {})
        late = threading.Thread(target=_follow, args=(api, wf, None, "p49", got[followers]))
        late.start()  # from the start: the gap from Redis, then the shared feed
        for t in [*threads, late]:
            t.join(timeout=60)
        wanted = [f"p{i}" for i in range(50)]
        for events in got[:followers]:
            assert [json.loads(e["data"])["detail"] for e in events] == wanted
        ids = [e["id"] for e in got[followers]]
        assert ids[:len(everything)] == [e.id for e in everything]
        assert [json.loads(e["data"]).get("detail") for e in got[followers]][-50:] == wanted
        assert len(ids) == len(set(ids)) == len(everything) + 50
        # the last follower gone, the reader stops
        wait_until(lambda: _blocked_reads(engine) == 0, timeout=10, what="the reader stopping")
    finally:
        engine.close()


def test_a_big_workflow_is_summarised_and_its_rows_open_on_demand(api_server):
    api = api_server
    wf = _submit(api, "api-big", items=150)  # 3 + 2 x 150 steps, a gate, a last one
    _at_gate(api, wf)
    with api.client("viewer") as http:
        full = http.get(f"/workflows/{wf}").json()
        assert len([n for n in full["nodes"].values() if not n["id"].endswith("[*]")]) >= 303
        summary = http.get(f"/workflows/{wf}/tree").json()
        assert summary["shape"] == "summary"
        rows = [(e["kind"], e["name"], e["state"]) for e in summary["entries"]]
        assert rows[0] == ("run", "one … more", "succeeded")
        assert summary["entries"][0]["counters"] == "303/303 ✓"
        assert rows[1:] == [("group", "confirm", "running"), ("node", "bye", "pending")]
        gate = summary["entries"][1]["members"]  # running: shown, with its command
        assert [(m["id"], m["gate"]) for m in gate] == [("approve-confirm", True)]

        run = http.get(f"/workflows/{wf}/tree", params={"open": summary["entries"][0]["key"]})
        opened = run.json()
        assert [e["name"] for e in opened["entries"]] == ["one", "two", "three", "work", "more"]
        work = opened["entries"][3]
        assert work["kind"] == "group" and work["counters"] == "150/150 ✓"
        page = http.get(f"/workflows/{wf}/tree", params={"open": work["key"], "limit": 100})
        first = page.json()
        assert (first["total"], len(first["entries"]), first["next"]) == (150, 100, 100)
        rest = http.get(f"/workflows/{wf}/tree",
                        params={"open": work["key"], "offset": 100, "limit": 100}).json()
        assert rest["next"] is None
        names = [e["name"] for e in first["entries"] + rest["entries"]]
        assert names == [f"item-{i}" for i in range(150)]

        assert len(http.get(f"/workflows/{wf}/tree", params={"shape": "full"}).json()[
            "entries"]) >= 5
        bad = http.get(f"/workflows/{wf}/tree", params={"open": ":99-120"})
        assert bad.status_code == 422 and "no collapsed row" in bad.json()["error"]
        assert http.get(f"/workflows/{wf}/tree", params={"shape": "tiny"}).status_code == 422


def test_with_two_server_processes_every_answer_shows_the_last_change(
        redis_server, redis_url, celery_worker, tmp_path):
    api = start_api_server(redis_server, tmp_path, api="auth_failures_per_minute = 100000",
                           args=("--workers", "2"))
    engine = _engine(redis_server)
    try:
        wait_until(lambda: len(psutil.Process(api.proc.pid).children(recursive=True)) >= 2,
                   timeout=30, what="two uvicorn workers")
        wf = _submit(api, "api-gate", who="ann")
        _at_gate(api, wf)
        for round_ in range(3):  # each process caches for itself; none may answer stale
            engine.transitions.progress(wf, "hello", f"change {round_}", {})
            answers = _at_once(api, f"/workflows/{wf}/steps/hello", 12)
            assert {a.json()["detail"] for a in answers} == {f"change {round_}"}
        got: list[dict[str, str]] = []
        last = engine.version(wf)
        follower = threading.Thread(target=_follow, args=(api, wf, last, "after", got))
        follower.start()
        wait_until(lambda: engine.version(wf) == last and _blocked_reads(engine) >= 1,
                   timeout=30, what="the follower's reader waiting")
        engine.transitions.progress(wf, "hello", "after", {})
        follower.join(timeout=30)
        assert [json.loads(e["data"])["detail"] for e in got] == ["after"]
    finally:
        engine.close()
        api.stop()


SCHEDULES = """
[schedules.nightly-greet]
runbook = "api-gate"
params = {who = "night", password = "s3cret-param"}
cron = "0 2 * * *"
timezone = "Europe/Berlin"
window = "01:00-05:00"
"""


@pytest.fixture
def scheduled_api(redis_server, redis_url, celery_worker, tmp_path):
    """The API with one schedule configured (no scheduler runs)."""
    server = start_api_server(redis_server, tmp_path, api="auth_failures_per_minute = 100000",
                              extra=SCHEDULES)
    yield server
    server.stop()


def test_schedules_are_listed_for_viewers_with_secret_params_redacted(scheduled_api):
    api_server = scheduled_api
    with api_server.client() as http:
        assert http.get("/schedules").status_code == 401
    with api_server.client("viewer") as http:
        answer = http.get("/schedules")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["leader"] is None
    shown = {s["name"]: s for s in body["schedules"]}
    nightly = shown["nightly-greet"]
    assert nightly["runbook"] == "api-gate" and nightly["cron"] == "0 2 * * *"
    assert nightly["timezone"] == "Europe/Berlin" and nightly["window"] == "01:00-05:00"
    assert nightly["overlap"] == "skip" and nightly["last"] is None
    assert nightly["next"] > body["now"]
    assert nightly["params"] == {"who": "night", "password": REDACTED}  # declared secret
    assert "s3cret-param" not in answer.text
