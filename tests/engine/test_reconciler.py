"""The reconciler re-sends only what expired, once per expiry, backing off on deep queues."""

from __future__ import annotations

import os
import socket
import time

import pytest

from cephflow.engine import embedded, keys
from cephflow.engine.client import WorkflowClient
from cephflow.engine.reconciler import reconcile_once, relet_orphans
from cephflow.settings import Settings
from tests.engine.support import dag, node, wait_node
from tests.fixtures.celery_worker import worker_with_client
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import wait_until

pytestmark = pytest.mark.services


def test_lost_messages_are_sent_again_after_their_lease(own_redis):
    client = WorkflowClient(Settings(redis_url=own_redis.url, namespace=NAMESPACE,
                                     lease_seconds=0.5))
    wf = client.submit(dag(node("a"), node("b"), node("c", after=["a"])), user="tester")
    assert client.redis.llen(NAMESPACE) == 2
    client.redis.delete(NAMESPACE)  # the messages are lost (as if the sender died)
    assert reconcile_once(client.redis, client.transitions, client.app, NAMESPACE) == 0
    wait_until(lambda: client.redis.zrangebyscore(keys.leases(NAMESPACE), "-inf", time.time()),
               timeout=5, what="leases to expire")
    time.sleep(0.05)
    assert reconcile_once(client.redis, client.transitions, client.app, NAMESPACE) == 2
    resent = client.redis.lrange(NAMESPACE, 0, -1)
    assert sorted(f'"wf={wf} node=a"' in m for m in resent) == [False, True]
    # the next lease is doubled: an immediate second pass sends nothing
    assert reconcile_once(client.redis, client.transitions, client.app, NAMESPACE) == 0
    leases = dict(client.redis.zrange(keys.leases(NAMESPACE), 0, -1, withscores=True))
    assert all(expiry - time.time() > 0.6 for expiry in leases.values())
    assert set(leases) == {keys.lease_member(wf, "a"), keys.lease_member(wf, "b")}


def test_relet_orphans_expires_every_lease_but_those_a_live_process_holds(own_redis):
    client = WorkflowClient(Settings(redis_url=own_redis.url, namespace=NAMESPACE))
    wf = client.submit(dag(node("live"), node("dead"), node("queued")), user="tester")
    leases = keys.leases(NAMESPACE)
    before = dict(client.redis.zrange(leases, 0, -1, withscores=True))
    live, dead, queued = (keys.lease_member(wf, n) for n in ("live", "dead", "queued"))
    client.redis.set(keys.holder(NAMESPACE, "here", 1), live)
    client.redis.set(keys.holder(NAMESPACE, "here", 2), dead)

    expired = relet_orphans(client.redis, NAMESPACE, lambda host, pid: pid == 1)

    assert expired == 2
    after = dict(client.redis.zrange(leases, 0, -1, withscores=True))
    assert after == {live: before[live], dead: 0, queued: 0}
    sent = reconcile_once(client.redis, client.transitions, client.app, NAMESPACE)
    assert sent == 2  # the next pass sends the two at once, not a lease later


def test_a_worker_names_the_node_it_runs_and_relet_orphans_leaves_it(redis_server, tmp_path):
    with worker_with_client(redis_server, tmp_path, namespace="cf-holder", name="holder",
                            ) as (_, client):
        wf = client.submit(dag(node("slow", task="test.sleep", args={"seconds": 3})),
                           user="tester")
        wait_node(client, wf, "slow", "running")
        member = keys.lease_member(wf, "slow")
        holders = {k: client.redis.get(k)
                   for k in client.redis.scan_iter(match=keys.holder_prefix("cf-holder") + "*")}
        assert list(holders.values()) == [member]
        [(host, pid)] = [keys.split_holder(k, "cf-holder") for k in holders]
        assert host == socket.gethostname() and pid != os.getpid()

        assert relet_orphans(client.redis, "cf-holder", embedded._alive_here) == 0
        assert client.redis.zscore(keys.leases("cf-holder"), member) > time.time()

        wait_node(client, wf, "slow", "succeeded")
        wait_until(lambda: not list(client.redis.scan_iter(
            match=keys.holder_prefix("cf-holder") + "*")), timeout=5, what="the holder dropped")
