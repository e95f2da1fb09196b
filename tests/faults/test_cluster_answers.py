"""Bad input from the cluster: a ``ceph`` that answers garbage makes the step fail with an
error naming the command (and quoting the answer when it is JSON of another shape), never a
hang, a retry loop or a worker that dies.

Ceph is a fake ``ceph`` executable (tests/faults/support.py); the runbook's one step asks
``osd ok-to-stop``, which first reads ``osd dump``.
"""

from __future__ import annotations

import json

import pytest

from cephflow.engine.state import NodeState, WorkflowState
from cephflow.errors import ExitStatus
from tests.faults.support import FakeCeph, cephflow
from tests.fixtures.celery_worker import worker_with_client

pytestmark = [pytest.mark.services, pytest.mark.slow]

NS = "faultanswers"

RUNBOOK = """name: ask
steps:
  - id: safe
    task: ceph.ok_to_stop
    with: {osds: [0]}
"""

GOOD_DUMP = json.dumps({"epoch": 1, "osds": [{"osd": 0, "up": 1, "in": 1}]})


@pytest.mark.parametrize("answers, expect", [
    ({"osd dump": (0, "<html>502 Bad Gateway</html>", "")},
     "output is not JSON: <html>502 Bad Gateway</html>"),
    ({"osd dump": (0, json.dumps({"osds": [{"id": 0}]}), "")},
     'ceph osd dump: answer not understood (KeyError: \'osd\'): {"osds": [{"id": 0}]}'),
    ({"osd dump": (0, GOOD_DUMP, ""), "osd ok-to-stop": (0, "", "")}, "empty answer"),
    ({"osd dump": (0, GOOD_DUMP, ""), "osd ok-to-stop": (0, json.dumps([1, 2]), "")},
     "ceph osd ok-to-stop 0: answer not understood (AttributeError: 'list' object has no "
     "attribute 'get'): [1, 2]"),
    ({"osd dump": (1, "", "Error EACCES: access denied")}, "access denied"),
], ids=["not-json", "wrong-shape", "empty", "list-not-object", "refused"])
def test_a_garbage_answer_fails_the_step_with_the_command_named(answers, expect, redis_server,
                                                                tmp_path):
    fake = FakeCeph(tmp_path, answers)
    book = tmp_path / "ask.yaml"
    book.write_text(RUNBOOK)
    with worker_with_client(redis_server, tmp_path, namespace=NS, name="answers",
                            env=fake.env) as (worker, client):
        done = cephflow(["run", str(book), "--quiet"], redis_server.url, namespace=NS,
                        env=fake.env, cwd=tmp_path, timeout=90)
        assert done.returncode == ExitStatus.FAILED, done.stdout + done.stderr
        [wf] = [w.id for w in client.list_workflows(5)]
        snap = client.snapshot(wf)
        assert worker.alive
    assert snap.state is WorkflowState.FAILED
    node = snap.nodes["safe"]
    assert node.state is NodeState.FAILED
    assert expect in node.error
