"""One clock: Redis's ``TIME``. A worker whose wall clock is minutes off (ahead or behind,
more than a lease) next to a normal one re-sends nothing that is healthy and times nothing
out early: leases, starts and deadlines are all measured by the server's clock.

The shifted worker is a real ``celery worker`` whose ``time.time`` is shifted
(``tests/engine/shifted_clock.py``; libfaketime hangs Python's threads): its main process (the
reconciler, the heartbeat) and its pool children (the runs) all see the shifted clock.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import datetime

import pytest

from cephflow.engine.state import EventType, WorkflowState
from tests.engine.recorded import recorded
from tests.engine.support import dag, node, runs
from tests.fixtures.celery_worker import shifted_clock
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.workflow_client import make_client

pytestmark = [pytest.mark.services, pytest.mark.slow]

SHIFT_SECONDS = 300  # five minutes: 100 leases of the test workers (3 s)
_LOG_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+:", re.M)


def _log_clock_offset(output: str) -> float:
    """How far the worker's clock was off when it logged its last line (its log's times)."""
    stamps = _LOG_TIME.findall(output)
    assert stamps, output[-2000:]
    return datetime.strptime(stamps[-1], "%Y-%m-%d %H:%M:%S").timestamp() - time.time()


@pytest.mark.parametrize("shift", [SHIFT_SECONDS, -SHIFT_SECONDS], ids=["ahead", "behind"])
def test_a_worker_with_a_shifted_clock_runs_nothing_twice_and_times_nothing_out(
        own_redis, worker_factory, shift):
    # steps of 2 s (longer than a heartbeat, 1 s, and a reconciler pass, 0.75 s) with a
    # timeout of 60 s: longer than their run, far shorter than the shift. Ahead, the
    # shifted worker's reconciler would see the normal worker's leases as expired and send
    # its running steps again, whose second run then starts "60 s" late and times out at
    # once; behind, the leases it writes would look expired to the normal reconciler.
    client = make_client(own_redis.url)
    normal = worker_factory(own_redis.url)
    shifted = worker_factory(own_redis.url, env=shifted_clock(shift))
    offset = _log_clock_offset(shifted.output())
    assert abs(offset - shift) < 60, f"the shifted worker's clock is {offset:.0f}s off"
    steps = [node(f"s[{i}]", task="test.sleep", args={"seconds": 2.0}, timeout=60)
             for i in range(6)]
    d = dag(*steps, node("after", task="test.sleep", after=[n.id for n in steps],
                         args={"seconds": 2.0}, timeout=60))
    wf = client.submit(d, user="tester")
    state = client.wait(wf, timeout=120)
    events = client.events(wf, "0-0", count=100_000)
    assert [(e.node, e.detail) for e in events if e.detail and "lease expired" in e.detail] == []
    assert [(e.node, e.error) for e in events if e.node and e.state == "failed"] == []
    assert state is WorkflowState.SUCCEEDED
    ran = Counter(e.node for e in events
                  if e.type is EventType.NODE_STATE and e.state == "running")
    assert ran == {n.id: 1 for n in d.nodes}
    assert runs(client, wf) == {n.id: 1 for n in d.nodes}
    starts = client.redis.hgetall(recorded(NAMESPACE, wf, "starts"))
    assert starts == {n.id: "1" for n in d.nodes}
    # both workers ran steps: the shifted one was not merely standing by
    for worker in (normal, shifted):
        assert "Task test.sleep[" in worker.output() and "received" in worker.output(), \
            worker.output()[-2000:]
