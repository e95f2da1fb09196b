"""The reconciler re-sends only what expired, once per expiry, backing off on deep queues."""

from __future__ import annotations

import time

import pytest

from cephflow.engine import keys
from cephflow.engine.client import WorkflowClient
from cephflow.engine.reconciler import reconcile_once
from cephflow.settings import Settings
from tests.engine.support import dag, node
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
    assert sorted(f"('{wf}', 'a'" in m for m in resent) == [False, True]
    # the next lease is doubled: an immediate second pass sends nothing
    assert reconcile_once(client.redis, client.transitions, client.app, NAMESPACE) == 0
    leases = dict(client.redis.zrange(keys.leases(NAMESPACE), 0, -1, withscores=True))
    assert all(expiry - time.time() > 0.6 for expiry in leases.values())
    assert set(leases) == {keys.lease_member(wf, "a"), keys.lease_member(wf, "b")}
