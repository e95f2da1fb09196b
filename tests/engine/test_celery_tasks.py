"""Every step is a Celery task named after its task, on a real worker and Redis.

``celery inspect registered`` lists the declared tasks; a route from the settings sends a
task's steps to a queue only a worker serving it takes; a rate limit from the settings paces
a task's steps; a message of the generic ``cephflow.run_node`` (sent by an older version)
still runs its node; a real Flower shows the steps under their names with workflow and node.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.request

import pytest

from cephflow.engine import dispatch, keys
from cephflow.engine.app import make_app
from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import WorkflowState
from cephflow.settings import CelerySettings, Settings
from tests.engine.recorded import recorded
from tests.engine.support import dag, node
from tests.fixtures.celery_worker import ROOT, CeleryWorker
from tests.fixtures.services import free_port, stop_process, wait_until

pytestmark = pytest.mark.services


@pytest.fixture
def ns(redis_server, request):
    """A namespace of this test's own (its queue is named after it): no other worker."""
    name = f"ct-{request.node.name[:40]}"
    redis_server.flush_namespace(name)
    yield name
    redis_server.flush_namespace(name)
    redis_server.client().delete(*[f"{name}-routed"])


def _client(redis_server, ns: str, celery: CelerySettings | None = None) -> WorkflowClient:
    return WorkflowClient(Settings(redis_url=redis_server.url, namespace=ns,
                                   celery=celery or CelerySettings()))


def _worker(redis_server, tmp_path, ns: str, name: str, celery: CelerySettings | None = None,
            args: tuple[str, ...] = ()) -> CeleryWorker:
    env = {}
    if celery is not None:
        env = {"CEPHFLOW_CELERY__TASK_ROUTES": json.dumps(celery.task_routes),
               "CEPHFLOW_CELERY__RATE_LIMITS": json.dumps(celery.rate_limits)}
    return CeleryWorker(redis_server.url, tmp_path, namespace=ns, name=name, env=env,
                        args=args)


def runs(client: WorkflowClient, ns: str, wf: str) -> dict[str, int]:
    return {k: int(v) for k, v in client.redis.hgetall(recorded(ns, wf, "runs")).items()}


def _received(worker: CeleryWorker, task: str) -> int:
    """How many messages of ``task`` the worker received (its log line for each)."""
    return len(re.findall(rf"Task {re.escape(task)}\[[-0-9a-f]+\] received", worker.output()))


def test_steps_run_as_celery_tasks_named_after_their_tasks(redis_server, tmp_path, ns):
    worker = _worker(redis_server, tmp_path, ns, "named").start()
    client = _client(redis_server, ns)
    try:
        d = dag(node("a", task="test.record"), node("b", task="test.stamp", after=["a"]))
        wf = client.submit(d)
        assert client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
        assert _received(worker, "test.record") == 1 and _received(worker, "test.stamp") == 1
        assert _received(worker, dispatch.TASK_NAME) == 0
        env = dict(worker.env)
        out = subprocess.run(
            [sys.executable, "-m", "celery", "-A", "cephflow.engine.app", "inspect", "registered",
             "--json", "-d", f"named-{os.getpid()}@{socket.gethostname()}", "--timeout", "10"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
        [registered] = json.loads(out.stdout).values()
        assert {"test.record", "test.stamp", "test.sleep", dispatch.TASK_NAME} <= set(registered)
    finally:
        worker.stop()
        client.close()


def test_a_routed_task_runs_only_on_a_worker_serving_its_queue(redis_server, tmp_path, ns):
    routed = f"{ns}-routed"
    celery = CelerySettings(task_routes={"test.stamp": routed})
    default = _worker(redis_server, tmp_path, ns, "default", celery).start()
    client = _client(redis_server, ns, celery)
    serving = None
    try:
        d = dag(node("plain", task="test.record"), node("routed", task="test.stamp"))
        wf = client.submit(d)
        wait_until(lambda: client.snapshot(wf).nodes["plain"].state == "succeeded",
                   timeout=60, what="the unrouted step ran")
        # the default worker took the plain step, while the routed one waits in its queue
        # (maybe twice: the reconciler re-sends a node whose lease expired)
        assert client.redis.llen(routed) >= 1
        assert client.snapshot(wf).nodes["routed"].state == "queued"
        serving = _worker(redis_server, tmp_path, ns, "serving", celery,
                          args=("-Q", routed)).start()
        assert client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
        assert runs(client, ns, wf) == {"plain": 1, "routed": 1}
        assert _received(serving, "test.stamp") >= 1 and _received(default, "test.stamp") == 0
        assert _received(serving, "test.record") == 0
    finally:
        for w in (default, serving):
            if w is not None:
                w.stop()
        client.close()


def test_a_rate_limit_paces_a_tasks_steps(redis_server, tmp_path, ns):
    celery = CelerySettings(rate_limits={"test.stamp": "60/m"})
    worker = _worker(redis_server, tmp_path, ns, "paced", celery).start()
    client = _client(redis_server, ns, celery)
    try:
        d = dag(*(node(f"s[{i}]", task="test.stamp", step="s") for i in range(3)))
        wf = client.submit(d)
        assert client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
        stamps = sorted(float(v) for v in
                        client.redis.hgetall(recorded(ns, wf, "stamps")).values())
        assert len(stamps) == 3
        # 60/m: one start a second, so the third starts >= ~2 s after the first
        assert stamps[2] - stamps[0] >= 1.8, stamps
    finally:
        worker.stop()
        client.close()


def test_a_run_node_message_of_an_older_version_still_runs(redis_server, tmp_path, ns):
    client = _client(redis_server, ns)
    worker = None
    try:
        d = dag(node("a"), node("b", after=["a"]))
        wf = client.submit(d)  # no worker yet: the root's message waits in the queue
        assert client.redis.llen(ns) == 1
        client.redis.delete(ns)
        token = client.redis.hget(keys.WorkflowKeys(ns, wf).token, "a")
        app = make_app(redis_server.url, ns)
        app.send_task(dispatch.TASK_NAME, args=(wf, "a", token))  # as older versions sent it
        worker = _worker(redis_server, tmp_path, ns, "old").start()
        assert client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
        assert _received(worker, dispatch.TASK_NAME) == 1
        assert _received(worker, "test.record") == 1  # b, sent by this version
    finally:
        if worker is not None:
            worker.stop()
        client.close()


def test_flower_lists_steps_under_their_task_names(redis_server, tmp_path, ns):
    pytest.importorskip("flower")
    worker = _worker(redis_server, tmp_path, ns, "events", args=("-E",)).start()
    client = _client(redis_server, ns)
    port = free_port()
    log = open(tmp_path / "flower.log", "wb")
    flower = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cephflow.engine.app", "flower",
         f"--port={port}", "--address=127.0.0.1"],
        env=dict(worker.env, FLOWER_UNAUTHENTICATED_API="true"), cwd=ROOT,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def tasks() -> dict:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tasks", timeout=5) as r:
                    return json.load(r)
            except OSError:
                return {}

        wait_until(lambda: flower.poll() is None and _up(port), timeout=60, what="flower up")
        d = dag(node("drain[osd.41]", task="test.stamp", step="drain"),
                node("after", task="test.record", after=["drain[osd.41]"]))
        submitted: list[str] = []

        def shown() -> set[tuple[str, str]]:
            return {(t.get("name"), t.get("args")) for t in tasks().values()
                    if t.get("state") == "SUCCESS"}

        def listed() -> bool:
            # Flower reads events from the moment it subscribed: run the workflow again until
            # one run falls after that moment
            if submitted and client.wait(submitted[-1], timeout=60) is WorkflowState.SUCCEEDED:
                wf = submitted[-1]
                if {("test.stamp", f"wf={wf} node=drain[osd.41]"),
                        ("test.record", f"wf={wf} node=after")} <= shown():
                    return True
            submitted.append(client.submit(d))
            return False

        wait_until(listed, timeout=90, interval=0.5, what="flower lists both steps by name")
        names = {name for name, _ in shown()}
        assert dispatch.TASK_NAME not in names and {"test.stamp", "test.record"} <= names
    finally:
        stop_process(flower, group=True, grace=10)
        log.close()
        worker.stop()
        client.close()


def _up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def test_a_step_of_a_task_the_worker_does_not_declare_fails_saying_so(redis_server, tmp_path,
                                                                       ns):
    worker = _worker(redis_server, tmp_path, ns, "undeclared").start()
    client = _client(redis_server, ns)
    try:
        wf = client.submit(dag(node("odd", task="test.undeclared"), node("b", after=["odd"])))
        assert client.wait(wf, timeout=60) is WorkflowState.FAILED
        snap = client.snapshot(wf)
        assert snap.nodes["odd"].state == "failed"
        assert "unknown task 'test.undeclared'" in (snap.nodes["odd"].error or "")
        assert snap.nodes["b"].state != "succeeded"
        assert "unregistered task of type 'test.undeclared'" in worker.output()
    finally:
        worker.stop()
        client.close()


def test_a_rate_limit_naming_no_declared_task_stops_the_worker(redis_server, tmp_path, ns):
    worker = _worker(redis_server, tmp_path, ns, "typo",
                     CelerySettings(rate_limits={"test.recrod": "1/s"})).launch()
    try:
        wait_until(lambda: not worker.alive, timeout=60, what="the worker refuses to start")
        out = worker.output()
        assert "setting celery.rate_limits names task 'test.recrod'" in out, out[-2000:]
        assert "did you mean 'test.record'?" in out
        assert "ready." not in out
    finally:
        worker.stop()
