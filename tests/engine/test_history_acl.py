"""No task can rewrite the history: a worker whose Redis user is the one docs/history.md gives
runs a workflow to its end (submitted and approved by an operator's user, also as documented),
while a step that tries to add to, trim, delete or flush the history with the worker's own
connection gets NOPERM, and the history still shows who did what."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import redis

from cephflow.engine import keys
from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import HistoryAction, WorkflowState
from cephflow.settings import Settings
from tests.engine.support import dag, node
from tests.fixtures.celery_worker import CeleryWorker
from tests.fixtures.services import free_port, require_binary, stop_process, wait_until

pytestmark = pytest.mark.services

NS = "cfacl"


def broker_keys(ns: str) -> list[str]:
    """The keys Celery's Redis transport uses: the queue (with its priority queues), its
    bindings, the unacknowledged messages, the workers' control queues."""
    return [f"~{ns}", f"~{ns}\x06\x16*", "~_kombu.binding*", "~unacked*", "~*.pidbox*"]


def worker_acl(ns: str, password: str) -> list[str]:
    """The worker's user, as docs/history.md gives it (ACL SETUSER arguments)."""
    return ["on", f">{password}", "resetkeys", f"~{ns}:*", *broker_keys(ns),
            f"%R~{ns}.history", "resetchannels", "&*", "+@all", "-@dangerous"]


def operator_acl(ns: str, password: str) -> list[str]:
    """The user of the hosts operators run ``cephflow`` on, as docs/history.md gives it."""
    return ["on", f">{password}", "resetkeys", f"~{ns}:*", *broker_keys(ns), f"~{ns}.history",
            "resetchannels", "&*", "+@all", "-@dangerous"]


@pytest.fixture
def acl_redis(tmp_path: Path):
    """A redis-server on a TCP port (the worker's URL carries its user) whose default user
    needs a password, with the worker's user of docs/history.md."""
    port = free_port()
    argv = [require_binary("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(tmp_path),
            "--logfile", str(tmp_path / "redis.log")]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    admin = redis.Redis(port=port, decode_responses=True)

    def up() -> bool:
        try:
            return bool(admin.ping())
        except redis.ConnectionError:
            assert proc.poll() is None, "redis-server exited"
            return False

    try:
        wait_until(up, timeout=10, what="redis-server to answer")
        admin.acl_setuser("cephflow-worker", reset=True)
        admin.execute_command("ACL", "SETUSER", "cephflow-worker", *worker_acl(NS, "wpass"))
        admin.execute_command("ACL", "SETUSER", "cephflow-operator", *operator_acl(NS, "opass"))
        admin.execute_command("ACL", "SETUSER", "default", ">apass")
        yield port
    finally:
        admin.close()
        stop_process(proc)


def test_a_task_cannot_rewrite_the_history_a_worker_may_only_read(acl_redis, tmp_path):
    worker_url = f"redis://cephflow-worker:wpass@127.0.0.1:{acl_redis}/0"
    operator_url = f"redis://cephflow-operator:opass@127.0.0.1:{acl_redis}/0"
    worker = CeleryWorker(worker_url, tmp_path, namespace=NS, name="acl")
    client = WorkflowClient(Settings(redis_url=operator_url, namespace=NS))
    admin = redis.Redis(port=acl_redis, username="default", password="apass",
                        decode_responses=True)
    try:
        worker.start()
        wf = client.submit(dag(node("rewrite", task="test.rewrite_history"), node("b"),
                               node("gate", task="core.approval", after=["rewrite"],
                                    args={"approvers": [], "notify": False, "downtimes": []}),
                               node("fin", cleanup=True), runbook="acl"), user="carol")
        client.approve(wf, "gate", user="dave", early=True)
        assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED, worker.output()[-3000:]
        tried = client.output(wf, "rewrite")
        assert tried is not None
        assert {name: text.split(":")[0] for name, text in tried.items()} == {
            name: "NoPermissionError"
            for name in ("xadd", "xtrim", "del", "xdel", "eval", "flushdb")}, tried
        assert [(e.action, e.user, e.workflow) for e in client.history()] == [
            (HistoryAction.SUBMITTED, "carol", wf), (HistoryAction.APPROVED, "dave", wf)]
        with redis.Redis.from_url(worker_url, decode_responses=True) as as_worker:
            assert as_worker.xlen(keys.history(NS)) == 2  # it may read it
        # nothing else the worker or the operator did was denied: their users allow all they
        # need
        denied = {(d["username"], d["reason"], d["object"], d["count"]) for d in admin.acl_log()}
        assert denied == {("cephflow-worker", "key", keys.history(NS), 5),
                          ("cephflow-worker", "command", "flushdb", 1)}, denied
    finally:
        worker.stop()
        client.close()
        admin.close()
