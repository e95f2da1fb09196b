"""Redis out of memory (``maxmemory`` with ``noeviction``) in the middle of a workflow.

A Redis of the test's own, run as an operator would cap it; ``CONFIG SET maxmemory 1`` puts
it past its limit at the chosen moment, ``maxmemory 0`` gives the memory back. What cephflow
promises then: a new submit is refused at once and leaves nothing behind; a workflow already
running records what its steps did (its transitions may pass the limit: ``engine/scripts.py``
``ALLOW_OOM``), waits while its next messages cannot be queued, and finishes once memory is
back, every step's effect once; the worker lives through it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cephflow.engine.keys import WorkflowKeys, audit, holder_prefix, submitting
from cephflow.engine.state import NodeState, WorkflowState
from cephflow.errors import ExitStatus, RedisOutOfMemory
from tests.engine.support import dag, node
from tests.faults.support import cephflow, one_error
from tests.faults.tasks import WORKER_ENV, effects
from tests.fixtures.redis_server import NAMESPACE, RedisServer
from tests.fixtures.services import wait_until
from tests.fixtures.workflow_client import make_client

pytestmark = [pytest.mark.services, pytest.mark.slow]  # a worker and a CLI start: ~15 s on 2 cores

OTHER = """name: other
steps:
  - id: hello
    task: core.log
    with: {message: hello}
"""


def stored(client) -> set[str]:
    """The namespace's keys, but the workers' own (``holder``: which node a process runs)."""
    return {k for k in client.redis.scan_iter(match=f"{NAMESPACE}:*")
            if not k.startswith(holder_prefix(NAMESPACE))}


@pytest.fixture
def capped_redis(tmp_path) -> RedisServer:
    """A Redis of the test's own that refuses writes rather than evict at its maxmemory."""
    server = RedisServer(Path(tmp_path) / "r", args=["--maxmemory-policy", "noeviction"])
    server.start()
    yield server
    server.stop()


def test_out_of_memory_refuses_a_submit_and_the_running_workflow_ends_once_memory_is_back(
        tmp_path, capped_redis, worker_factory):
    log, release = tmp_path / "effects", tmp_path / "release"
    args = {"log": str(log)}
    d = dag(node("a", task="fault.effect", args=args),
            node("b", task="fault.effect", after=["a"], args={**args, "release": str(release)}),
            node("c", task="fault.effect", after=["b"], args=args))
    worker = worker_factory(capped_redis.url, env=WORKER_ENV)
    client = make_client(capped_redis.url)
    wf = client.submit(d, user="tester")
    wk = WorkflowKeys(NAMESPACE, wf)
    wait_until(lambda: client.redis.hget(wk.state, "b") == NodeState.RUNNING, timeout=30,
               what="b running")

    capped_redis.client().config_set("maxmemory", "1")  # past the limit from now on
    names_before = stored(client)
    queued_before = client.redis.llen(NAMESPACE)
    book = tmp_path / "other.yaml"
    book.write_text(OTHER)
    refused = cephflow(["run", str(book), "--detach"], capped_redis.url, cwd=tmp_path)
    assert refused.returncode == ExitStatus.FAILED, refused.stdout + refused.stderr
    assert one_error(refused).startswith("error: Redis is out of memory (used memory > "
                                         "maxmemory): it refuses writes and transactions (submit)")
    assert "hint: raise Redis's maxmemory" in refused.stderr
    # nothing half-written, nothing queued, no audit record: the namespace is as it was
    assert stored(client) == names_before
    assert client.redis.zcard(submitting(NAMESPACE)) == 0
    assert client.redis.llen(NAMESPACE) == queued_before
    assert [w.id for w in client.list_workflows(10)] == [wf]
    assert not [k for k in client.redis.scan_iter(match=audit(NAMESPACE, "*")) if wf not in k]

    release.touch()  # b ends while Redis is still out of memory: its outcome is recorded
    wait_until(lambda: client.redis.hget(wk.state, "b") == NodeState.SUCCEEDED, timeout=30,
               what="b's outcome recorded past maxmemory")
    assert effects(log) == ["a", "b"]
    assert client.redis.hget(wk.meta, "state") == WorkflowState.RUNNING  # c waits for memory
    with pytest.raises(RedisOutOfMemory):  # a snapshot (`status ID`) reads in a MULTI: refused
        client.snapshot(wf)

    capped_redis.client().config_set("maxmemory", "0")
    assert client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
    assert effects(log) == ["a", "b", "c"]  # no step lost, none run twice
    assert worker.alive, worker.output()[-3000:]
    client.close()
