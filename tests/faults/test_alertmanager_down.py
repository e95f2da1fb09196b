"""Alertmanager stopped in the middle of a workflow that silences a host's alerts.

A real Alertmanager (tests/fixtures/alertmanager.py) on a port the worker's config names,
stopped by PID while a step waits on a workflow fact (no sleeps), first just before
``downtime.set``, then after it, before the ``finally`` step ``downtime.clear``. The policy
(``cephflow/tasks/downtime.py``, ``cephflow/monitoring/http.py``): each call to
Alertmanager is tried ``alertmanager.attempts`` times, the step then goes to its own retry
policy; a silence that could not be set fails the workflow before the work it protects,
and one that could not be cleared is reported by the failed ``finally`` step, its record
kept (a later ``cephflow retry`` can clear it) while the silence lapses at its end time.
"""

from __future__ import annotations

import pytest

from cephflow.engine.state import NodeState, WorkflowState
from cephflow.monitoring.times import epoch
from cephflow.runbook.dag import Dag, Node, RetryPolicy
from tests.engine.recorded import recorded
from tests.fixtures.alertmanager import start_alertmanager
from tests.fixtures.celery_worker import worker_with_client
from tests.fixtures.services import free_port, port_held, wait_until

pytestmark = [pytest.mark.services, pytest.mark.slow]

NAMESPACE = "cfamdown"
HOUR = 3600.0


def runs(client, wf: str) -> dict[str, int]:
    """How often each test step ran to its end (``tests/engine/tasks.py`` counts them)."""
    return {k: int(v) for k, v in client.redis.hgetall(recorded(NAMESPACE, wf, "runs")).items()}


def maintenance() -> Dag:
    """Wait for ``go``, silence (two tries), do the work (waits for ``done``), always clear."""
    return Dag(runbook="am-down", source="tests", nodes=[
        Node(id="before", step="before", task="test.wait_fact", args={"key": "go"}),
        Node(id="silence", step="silence", task="downtime.set", after=["before"],
             args={"matchers": ['instance=~"ceph-osd-17.*"'], "duration": "1h"},
             retry=RetryPolicy(attempts=2, backoff=0.1)),
        Node(id="work", step="work", task="test.wait_fact", after=["silence"],
             args={"key": "done"}),
        Node(id="unsilence", step="unsilence", task="downtime.clear", cleanup=True),
    ])


def test_alertmanager_down_when_the_silence_is_set_and_when_it_is_cleared(tmp_path,
                                                                         redis_server):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = tmp_path / "config.toml"
    config.write_text(f'poll_countdown = 0.2\n\n[alertmanager]\nurls = ["{url}"]\n'
                      "attempts = 2\nbackoff = 0.05\n")
    with worker_with_client(redis_server, tmp_path, namespace=NAMESPACE, name="amdown",
                            env={"CEPHFLOW_CONFIG": str(config)}) as (_, client):
        # 1. down when the silence is set: the step's tries fail, the workflow fails there
        am = start_alertmanager(tmp_path / "am1", port=port)
        try:
            wf = client.submit(maintenance(), user="tester")
            wait_until(lambda: client.snapshot(wf).nodes["before"].attempt >= 1, timeout=30,
                       what="the step before the silence to wait")
        finally:
            am.stop()
        with port_held(port):  # down, and no other test's server on its port meanwhile
            client.set_fact(wf, "go", True)
            assert client.wait(wf, timeout=60) is WorkflowState.FAILED
        nodes = client.snapshot(wf).nodes
        assert nodes["silence"].state is NodeState.FAILED
        assert nodes["silence"].attempt == 2  # the step's retry policy, then no more
        assert nodes["silence"].error.startswith(
            f"MonitoringError: alertmanager {url}: list silences failed after 2 tries: "
            "ConnectError")
        assert nodes["work"].state is NodeState.CANCELLED
        assert runs(client, wf) == {"before": 1}  # the unprotected work never ran
        assert nodes["unsilence"].state is NodeState.SUCCEEDED  # nothing was set to clear

        # 2. down when it is cleared: the work is done, the failed clear says so
        am = start_alertmanager(tmp_path / "am2", port=port)
        try:
            wf = client.submit(maintenance(), user="tester")
            client.set_fact(wf, "go", True)
            wait_until(lambda: client.snapshot(wf).nodes["work"].attempt >= 1, timeout=30,
                       what="the work to wait, the silence set")
            [handle] = client.get_fact(wf, "downtime:default")["handles"]
            silence = am.silence(handle["id"])
            assert silence["status"]["state"] == "active"
            lasts = epoch(silence["endsAt"]) - epoch(silence["startsAt"])
            assert HOUR - 60 <= lasts <= HOUR + 60  # it lapses by itself within the hour
        finally:
            am.stop()
        with port_held(port):
            client.set_fact(wf, "done", True)
            assert client.wait(wf, timeout=60) is WorkflowState.FAILED
        nodes = client.snapshot(wf).nodes
        assert nodes["work"].state is NodeState.SUCCEEDED
        assert runs(client, wf) == {"before": 1, "work": 1}
        assert nodes["unsilence"].state is NodeState.FAILED
        assert nodes["unsilence"].error.startswith(
            f"MonitoringError: downtime 'default': 1 not cleared: alertmanager {url}: ")
        record = client.get_fact(wf, "downtime:default")
        assert record["cleared"] is False and record["handles"] == [handle]
