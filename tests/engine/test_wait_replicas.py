"""``redis_wait_replicas``: a task's write-ahead records reach the replica before it goes on.

On a real Sentinel group (a primary and its replica): with the setting, each fact, once-marker
and memo is followed by one ``WAIT`` on the primary and is on the replica when the call
returns; without it (the default) no ``WAIT`` is issued.
"""

from __future__ import annotations

import pytest

from cephflow.engine.client import WorkflowClient
from cephflow.engine.context_backend import RedisContextBackend
from cephflow.engine.keys import WorkflowKeys
from cephflow.settings import Settings
from tests.engine.support import dag, node

pytestmark = pytest.mark.services

NS = "cfwait"


def waits(server) -> int:
    with server.client() as c:
        return int(c.info("commandstats").get("cmdstat_wait", {}).get("calls", 0))


@pytest.mark.parametrize("replicas", [0, 1])
def test_each_record_waits_for_the_replicas_it_asks_for(sentinel_group, replicas):
    client = WorkflowClient(Settings(redis_url=sentinel_group.url(), namespace=NS))
    primary, replica = sentinel_group.servers
    try:
        wf = client.submit(dag(node("a")), user="tester")
        backend = RedisContextBackend(client.redis, client.transitions, NS,
                                      wait_replicas=replicas)
        before = waits(primary)
        backend.set_fact(wf, "flag", "ours")
        after_fact = waits(primary)
        with replica.client() as c:
            on_replica = c.hget(WorkflowKeys(NS, wf).facts, "flag")
        assert backend.claim_once(wf, "a", "mail") is True
        backend.set_node_memo(wf, "a", "sent", 1)
        assert (after_fact - before, waits(primary) - before) == (replicas, 3 * replicas)
        if replicas:
            assert on_replica == '"ours"'  # there when set_fact returned
    finally:
        client.close()


def test_too_few_replicas_in_time_is_said_and_the_task_goes_on(sentinel_group, caplog):
    """Two asked, one there: after WAIT_TIMEOUT_MS the record stands (on the primary and the
    one replica) and the warning says how many it reached."""
    client = WorkflowClient(Settings(redis_url=sentinel_group.url(), namespace=NS))
    try:
        wf = client.submit(dag(node("a")), user="tester")
        backend = RedisContextBackend(client.redis, client.transitions, NS, wait_replicas=2)
        backend.set_fact(wf, "flag", "ours")
        assert client.redis.hget(WorkflowKeys(NS, wf).facts, "flag") == '"ours"'
        assert "fact reached 1 of 2 replicas in 1000 ms (redis_wait_replicas): going on" in (
            caplog.text)
    finally:
        client.close()
