"""A runbook that would stop more OSDs at once than Ceph's ``ok-to-stop`` allows is stopped
before it stops any: the workflow fails with Ceph's own explanation and no stop runs.

Ceph is a fake ``ceph`` executable (tests/faults/support.py) answering ``osd ok-to-stop``
as a real cluster does for two OSDs on two hosts of a size-3 pool (recorded in
tests/ceph/data: exit 16, EBUSY). The same refusal on the lab cluster, task by task
(``ceph.stop_osd`` asking before each stop), is
tests/tasks/ceph/test_tasks_lab.py::test_unsafe_stop_is_refused_with_cephs_explanation.
"""

from __future__ import annotations

import json

import pytest

from cephflow.engine.state import NodeState, WorkflowState
from cephflow.errors import ExitStatus
from tests.faults.support import FakeCeph, cephflow
from tests.fixtures.celery_worker import worker_with_client
from tests.paths import REPO

pytestmark = [pytest.mark.services, pytest.mark.slow]

NS = "faultstop"
DATA = REPO / "tests" / "ceph" / "data"

RUNBOOK = """name: stop-two
steps:
  - id: safe
    task: ceph.ok_to_stop
    with: {osds: [0, 2]}
  - id: stop
    task: ceph.stop_osd
    after: [safe]
    foreach: [0, 2]
    with: {osd: "{{ item }}"}
"""

OSD_DUMP = {"epoch": 40, "flags": "", "pools": [],
            "osds": [{"osd": i, "up": 1, "in": 1, "weight": 1.0, "state": ["exists", "up"]}
                     for i in range(6)]}


def test_stopping_more_osds_than_ok_to_stop_allows_fails_before_any_stop(redis_server,
                                                                         tmp_path):
    refusal = (DATA / "ok_to_stop_not_ok.stderr").read_text()
    fake = FakeCeph(tmp_path, {
        "osd dump": (0, json.dumps(OSD_DUMP), ""),
        "osd ok-to-stop": (16, (DATA / "ok_to_stop_not_ok.json").read_text(), refusal),
    })
    book = tmp_path / "stop-two.yaml"
    book.write_text(RUNBOOK)
    with worker_with_client(redis_server, tmp_path, namespace=NS, name="stop",
                            env=fake.env) as (_, client):
        done = cephflow(["run", str(book), "--quiet"], redis_server.url, namespace=NS,
                        env=fake.env, cwd=tmp_path)
        assert done.returncode == ExitStatus.FAILED, done.stdout + done.stderr
        [wf] = [w.id for w in client.list_workflows(5)]
        snap = client.snapshot(wf)
    assert snap.state is WorkflowState.FAILED
    assert snap.nodes["safe"].state is NodeState.FAILED
    assert snap.nodes["safe"].error == ("Ceph says stopping osd.0, osd.2 is not safe: "
                                        + refusal.strip())
    stops = [n for n in snap.nodes.values() if n.step == "stop"]
    assert stops and all(n.state is NodeState.CANCELLED for n in stops)
    asked = [" ".join(c["argv"]) for c in fake.calls()]
    assert any("osd ok-to-stop 0 2" in a for a in asked), asked
    assert not [a for a in asked if "ok-to-stop" not in a and " dump" not in a], asked
