"""The Redis primary killed (SIGKILL) in the middle of a 2,000-step workflow under Sentinel.

A real Sentinel group (``tests/fixtures/redis_sentinel.py``: a primary, a replica, three
sentinels, quorum 2, down after 1 s) serves two real Celery workers and the client, all
configured with the ``redis+sentinel://`` URL alone: state, broker and result backend.
Once half the steps have run, the primary is killed with SIGKILL; the sentinels promote the
replica, and the workers and the client find it through them, waiting the outage out as
they wait out any Redis outage. The workflow ends succeeded, every node ends exactly once in
the state (one ``succeeded`` change each, no node lost), and every step's effect ran. The
same holds when the primary is demoted alive (``SENTINEL FAILOVER``), answering what still
reaches it as a replica.

Replication is asynchronous: what the old primary acknowledged in its last moments may not
have reached the replica, so a step whose completion was lost with it runs again
(at-least-once, the engine's contract for a lost run: docs/reliability.md). The effects are
counted in a file, not in Redis, so such a second run is seen; the test bounds how many
there may be. The stall (the longest stretch without a step's effect, around the kill) is
printed for docs/scaling.md.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable

import pytest

from cephflow.engine.client import WorkflowClient
from cephflow.engine.keys import WorkflowKeys
from cephflow.engine.state import EventType, WorkflowState
from cephflow.settings import Settings
from tests.engine.support import dag, node
from tests.faults.tasks import WORKER_ENV, effects
from tests.fixtures.celery_worker import LEASE_SECONDS, CeleryWorker
from tests.fixtures.redis_sentinel import SERVICE, Node
from tests.fixtures.services import wait_until

pytestmark = [pytest.mark.services, pytest.mark.slow]

NS = "cfsentinel"
STAGES, WIDTH, SLOTS = 2, 1000, 8
"""2,000 steps as in test_worker_kills: two fan-outs of 1,000, at most 8 running at once."""
WORKERS, CONCURRENCY = 2, 2
REPEATS = WORKERS * CONCURRENCY + SLOTS * STAGES
"""At most this many steps may run twice: those running when the primary died (one a pool
process) and those whose claim or completion the old primary acknowledged but never passed
on (the replica lags by at most the steps in flight: each holds a fan-out slot)."""


def two_fanouts(log: str):
    nodes, prev = [], []
    for s in range(STAGES):
        ids = [f"s{s}[{i}]" for i in range(WIDTH)]
        nodes += [node(i, task="fault.effect", after=prev, group=f"s{s}", args={"log": log})
                  for i in ids]
        prev = ids
    return dag(*nodes, groups={f"s{s}": SLOTS for s in range(STAGES)})


def test_the_primary_killed_mid_workflow_loses_no_step(sentinel_group, tmp_path):
    """SIGKILL: the old primary's connections break; the sentinels promote the replica."""
    run_through_a_failover(sentinel_group, tmp_path, "killed",
                           lambda old: old.stop(signal.SIGKILL))


def test_a_primary_demoted_while_alive_is_left_for_the_new_one(sentinel_group, tmp_path):
    """``SENTINEL FAILOVER``: the old primary lives on as a replica; a connection to it is
    closed by Redis or answered ``READONLY`` (redis-py drops it either way), and the next one
    goes to the new primary: no step fails, none is lost."""

    def demote(old: Node) -> None:
        with sentinel_group.sentinels[0].client() as c:
            c.execute_command("SENTINEL", "FAILOVER", SERVICE)

    run_through_a_failover(sentinel_group, tmp_path, "demoted", demote)
    old = sentinel_group.servers[0]
    assert old.alive

    def replica() -> bool:
        with old.client() as c:
            return c.info("replication")["role"] == "slave"

    wait_until(replica, timeout=30, what="the old primary serving as a replica")


def run_through_a_failover(sentinel_group, tmp_path, how: str,
                           fail: Callable[[Node], None]) -> None:
    """A 2,000-step workflow on two workers; half-way ``fail`` ends the primary's term."""
    url = sentinel_group.url()
    log = tmp_path / "effects.log"
    d = two_fanouts(str(log))
    ids = {n.id for n in d.nodes}
    assert len(ids) == 2000
    client = WorkflowClient(Settings(redis_url=url, namespace=NS, lease_seconds=LEASE_SECONDS))
    workers = [CeleryWorker(url, tmp_path, namespace=NS, name=f"s{i}", env=WORKER_ENV,
                            concurrency=CONCURRENCY) for i in range(WORKERS)]
    try:
        for worker in workers:
            worker.start()
        began = time.monotonic()
        wf = client.submit(d, user="tester")
        wait_until(lambda: len(effects(log)) >= len(ids) // 2, timeout=120,
                   what="half the steps run")
        old = sentinel_group.primary()
        assert old is sentinel_group.servers[0]
        killed_at = time.monotonic()
        fail(old)
        samples: list[tuple[float, int]] = [(killed_at, len(effects(log)))]
        promoted_at = None
        deadline = killed_at + 180
        while client.state(wf) is not WorkflowState.SUCCEEDED:
            assert time.monotonic() < deadline, "the workflow did not end after the failover"
            if promoted_at is None and sentinel_group.promoted(old) is not None:
                promoted_at = time.monotonic()
            samples.append((time.monotonic(), len(effects(log))))
            time.sleep(0.05)
        ended = time.monotonic()
        assert promoted_at is not None or sentinel_group.promoted(old) is not None
        assert all(w.alive for w in workers), "a worker exited during the failover"

        wk = WorkflowKeys(NS, wf)
        r = client.redis
        assert {n: s for n, s in r.hgetall(wk.state).items() if n in ids} == dict.fromkeys(
            ids, "succeeded")
        changes = [f for _, f in r.xrange(wk.events) if f["type"] == EventType.NODE_STATE]
        succeeded = Counter(f["node"] for f in changes if f["state"] == "succeeded")
        assert set(succeeded) == ids and set(succeeded.values()) == {1}, "a step ended twice"
        ran = Counter(effects(log))
        assert set(ran) == ids, f"never ran: {sorted(ids - set(ran))[:5]}"
        repeated = {step: n for step, n in ran.items() if n > 1}
        assert set(repeated.values()) <= {2}, f"a step ran three times: {repeated}"
        assert len(repeated) <= REPEATS, f"{len(repeated)} steps ran twice: {repeated}"
        assert set(r.hvals(wk.gactive)) <= {"0"}, "a fan-out slot was kept or given twice"

        stall, last = 0.0, samples[0]
        for when, count in samples[1:]:
            if count > last[1]:
                stall = max(stall, when - last[0])
                last = (when, count)
        print(f"\nsentinel failover ({how}): promoted {(promoted_at or ended) - killed_at:.1f}s after "
              f"the kill; longest stall {stall:.1f}s; {len(repeated)} steps ran twice; "
              f"workflow {ended - began:.1f}s")
    finally:
        for worker in workers:
            worker.stop()
        client.close()
