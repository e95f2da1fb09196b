"""Audit of the engine and follow issues through the real `cephflow` entry point.

Each test runs the CLI as an operator would, against a real redis-server and real Celery
workers (fixtures), and checks what a wrong program would get wrong: a broken runbook submits
nothing, an ambiguous id prefix is refused, a cancelled follow exits 4, the audit record names
the OS user and the outcome, ``cephflow worker`` runs workflows by itself, and the Redis URL's
password is never printed.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import subprocess
import time

import pytest

from cephflow.engine import keys
from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import WorkflowState
from cephflow.runbook.compiler import compile_runbook
from cephflow.settings import Settings
from cephflow.tasks import load_all
from tests.engine.recorded import recorded
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import stop_process, wait_until
from tests.paths import CEPHFLOW, REPO

pytestmark = [pytest.mark.services, pytest.mark.slow]

BROKEN = REPO / "tests" / "runbook" / "broken"


def env_for(redis_url: str, namespace: str = NAMESPACE) -> dict[str, str]:
    return dict(os.environ, CEPHFLOW_REDIS_URL=redis_url, CEPHFLOW_NAMESPACE=namespace,
                COLUMNS="200", NO_COLOR="1")


def cephflow(args: list[str], redis_url: str, timeout: float = 60,
             namespace: str = NAMESPACE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CEPHFLOW, *args], env=env_for(redis_url, namespace), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def client(redis_url) -> WorkflowClient:
    engine = WorkflowClient(Settings(redis_url=redis_url, namespace=NAMESPACE))
    yield engine
    engine.close()


@pytest.mark.parametrize("name", ["cycle", "unknown-task", "undefined-variable", "yaml-tab"])
def test_run_of_a_broken_runbook_exits_2_with_its_place_and_submits_nothing(name, redis_server,
                                                                           redis_url):
    path = BROKEN / f"{name}.yaml"
    expect = path.read_text().splitlines()[0].removeprefix("# expect: ").split(" || ")[0]
    place = ":".join(expect.split(":")[:2])  # the corpus's catalog has test tasks; the CLI's not
    result = cephflow(["run", str(path.relative_to(REPO))], redis_url)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"error: tests/runbook/broken/{name}.yaml:{place}: " in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "submitted" not in result.stdout
    assert redis_server.client().keys(f"{NAMESPACE}:*") == []  # no workflow, no audit


def test_status_refuses_an_ambiguous_prefix_and_names_the_candidates(client, redis_url,
                                                                     tmp_path):
    load_all()
    book = tmp_path / "one.yaml"
    book.write_text("name: one\nsteps:\n  - id: a\n    task: core.log\n"
                    "    with: {message: hi}\n")
    dag = compile_runbook(book)
    ids: list[str] = []
    while len({i[0] for i in ids}) == len(ids):  # at most 17 submits: two share a first digit
        ids.append(client.submit(dag))
    first = ids[-1][0]
    clash = sorted(i for i in ids if i.startswith(first))
    result = cephflow(["status", first], redis_url)
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert f"'{first}' matches several workflows" in result.stderr
    assert all(i in result.stderr for i in clash)
    one = cephflow(["status", clash[0][:12], "--json"], redis_url)
    assert one.returncode == 0 and json.loads(one.stdout)["id"] == clash[0]


def test_cancel_from_a_second_process_ends_the_follow_with_4_and_the_audit_says_so(
        client, celery_worker, redis_url):
    proc = subprocess.Popen([CEPHFLOW, "run", "demo", "--items", "1", "--pause", "50s"],
                            env=env_for(redis_url), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        found = re.search(r"workflow ([0-9a-f]+) submitted", line)
        assert found, line
        wf = found.group(1)
        wait_until(lambda: client.snapshot(wf).nodes["wait"].state.value == "running",
                   timeout=30, what="the wait step running")
        cancelled = cephflow(["cancel", wf[:8]], redis_url)
        assert cancelled.returncode == 0, cancelled.stderr
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 4, out + err
    assert "cancelled" in out.splitlines()[-1]
    assert client.snapshot(wf).nodes["report"].state.value == "succeeded"  # the finally ran
    again = cephflow(["status", wf], redis_url)
    assert again.returncode == 4

    record = client.audit(wf)
    assert record["user"] == getpass.getuser()
    assert abs(float(record["submitted_at"]) - time.time()) < 120
    assert record["runbook"] == "demo"
    assert json.loads(record["params"])["pause"] in (50, 50.0, "50s")
    assert record["outcome"] == "cancelled"


def test_cephflow_worker_runs_workflows_on_its_own(own_redis, tmp_path):
    """No other worker on this Redis: the workflow can only finish through `cephflow worker`."""
    url = own_redis.url
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen([CEPHFLOW, "worker", "-c", "1"], env=env_for(url, "auditw"),
                              cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        wait_until(lambda: worker.poll() is not None or b"ready." in
                   (tmp_path / "worker.log").read_bytes(), timeout=60, what="worker ready")
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        done = cephflow(["run", "demo", "--items", "2", "--pause", "0s"], url, namespace="auditw")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "succeeded" in done.stdout.splitlines()[-1]
    finally:
        stop_process(worker, group=True, grace=20)
        log.close()


def test_services_never_prints_the_redis_password(tmp_path):
    env = dict(os.environ, CEPHFLOW_REDIS_URL="redis://:hunter2-audit@127.0.0.1:1/0",
               CEPHFLOW_STATE_DIR=str(tmp_path / "state"))
    shown = subprocess.run([CEPHFLOW, "services"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert shown.returncode == 0
    assert "hunter2-audit" not in shown.stdout + shown.stderr


def test_the_atomic_lock_check_refuses_a_submit_that_raced_past_the_precheck(client, redis_url,
                                                                             tmp_path,
                                                                             monkeypatch):
    """Two submits can both pass the client's early look at the locks; the start script must
    still refuse the second one atomically and leave nothing of it behind."""
    from cephflow.errors import LockHeld

    load_all()
    book = tmp_path / "locked.yaml"
    book.write_text("name: locked\nlocks: [host-x]\nsteps:\n  - id: a\n    task: core.sleep\n"
                    "    with: {seconds: 30}\n")
    dag = compile_runbook(book)
    holder = client.submit(dag)
    monkeypatch.setattr(WorkflowClient, "_precheck_locks", lambda *a, **k: None)
    with pytest.raises(LockHeld) as refused:
        client.submit(dag)
    assert refused.value.holder == holder
    assert [w.id for w in client.list_workflows(10)] == [holder]
    assert client.redis.get(keys.lock(NAMESPACE, "ceph", "host-x")) == holder
    leftovers = [k for k in client.redis.keys(f"{keys.workflow_prefix(NAMESPACE)}*") if holder not in k]
    assert leftovers == []
    client.cancel(holder)


def test_resume_from_the_cli_reruns_only_the_failed_step_and_follows_to_0(client, celery_worker,
                                                                         redis_url):
    from cephflow.runbook.dag import Dag, Node

    nodes = [Node(id="first", step="first", task="test.record"),
             Node(id="flaky", step="flaky", task="test.fail", after=["first"],
                  args={"fixed_by": "fixed", "message": "disk on fire"}),
             Node(id="last", step="last", task="test.record", after=["flaky"])]
    wf = client.submit(Dag(runbook="audit", source="tests", nodes=nodes))
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    failed = cephflow(["status", wf[:8]], redis_url)
    assert failed.returncode == 1 and "disk on fire" in failed.stdout
    client.set_fact(wf, "fixed", True)
    resumed = cephflow(["resume", wf[:8]], redis_url)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "succeeded" in resumed.stdout.splitlines()[-1]
    runs = client.redis.hgetall(recorded(NAMESPACE, wf, "runs"))
    assert runs == {"first": "1", "flaky": "1", "last": "1"}  # first was not run again
