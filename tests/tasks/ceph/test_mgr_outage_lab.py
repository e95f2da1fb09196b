"""A waiting step through a mgr outage on the lab, run by a real worker (issue 16).

librados' ``mgr_command`` waits for a mgr for good; the step must instead say "mgr unreachable
for N s" within a bounded time, keep waiting (not fail) while the mgr is away, and finish once
it is back. The worker gets a short ``ceph.call_timeout`` (3 s) so the test takes seconds.
"""

from __future__ import annotations

import re
import time

import pytest

from cephflow.engine.state import NodeState, WorkflowState
from cephflow.runbook.dag import Dag, Node
from tests.fixtures.celery_worker import CeleryWorker
from tests.fixtures.ceph_flow import ME, NAMESPACE
from tests.fixtures.services import wait_until

pytestmark = [pytest.mark.ceph, pytest.mark.services, pytest.mark.slow]

CALL_TIMEOUT = 3.0
STEP_TIMEOUT = 600.0
"""Longer than the outage: the step must not fail while the mgr is away."""
AWAY = 25.0
"""How long the mgr stays away once the step has said so: several checks, several re-sends."""


@pytest.fixture
def quick_worker(flow):
    """The flow's worker replaced by one whose Ceph calls time out after CALL_TIMEOUT."""
    flow.worker.stop()
    worker = CeleryWorker(flow.redis_url, flow.base, namespace=NAMESPACE, name="quick")
    worker.env.update(flow.lab.env())
    worker.env["CEPHFLOW_CONFIG"] = str(flow.base / "config.toml")
    worker.env["CEPHFLOW_CEPH__CALL_TIMEOUT"] = str(CALL_TIMEOUT)
    flow.worker = worker.start()
    yield worker


def unreachable_for(detail: str | None) -> int | None:
    found = re.match(r"mgr unreachable for (\d+) s: ceph mgr did not answer within 3 s: ",
                     detail or "")
    return int(found.group(1)) if found else None


def test_a_waiting_step_names_a_mgr_outage_keeps_waiting_and_ends_once_the_mgr_is_back(
        flow, ceph_lab, quick_worker):
    client = ceph_lab.client()
    client.set_flag("noout")  # someone else's flag: wait_healthy waits while it is set
    mgr_down = False
    try:
        dag = Dag(runbook="mgr-outage", source="tests", nodes=[
            Node(id="h", step="h", task="ceph.wait_healthy", timeout=STEP_TIMEOUT)])
        wf = flow.client.submit(dag, user=ME)
        wait_until(lambda: "noout" in (flow.client.snapshot(wf).nodes["h"].detail or ""),
                   timeout=60, what="the step to wait for the flag")

        ceph_lab.cluster.labctl("kill-mgr")
        mgr_down = True
        killed = time.monotonic()
        # bounded: one check's call timeout, the poll countdown, and a check in flight
        wait_until(lambda: unreachable_for(flow.client.snapshot(wf).nodes["h"].detail) is not None
                   or flow.client.snapshot(wf).nodes["h"].state is not NodeState.RUNNING,
                   timeout=4 * CALL_TIMEOUT + 15, what="the step to say the mgr is unreachable")
        node = flow.client.snapshot(wf).nodes["h"]
        assert node.state is NodeState.RUNNING, (node.state, node.error)
        said = time.monotonic() - killed

        # it keeps waiting, counting on across re-sends, and does not fail
        first = unreachable_for(flow.client.snapshot(wf).nodes["h"].detail)
        longer = wait_until(
            lambda: (n := unreachable_for(flow.client.snapshot(wf).nodes["h"].detail))
            is not None and n >= first + AWAY and n,
            timeout=AWAY + 4 * CALL_TIMEOUT + 15, what="the outage count to grow")
        snap = flow.client.snapshot(wf)
        assert snap.state is WorkflowState.RUNNING and snap.nodes["h"].state is NodeState.RUNNING
        assert longer >= AWAY

        ceph_lab.cluster.labctl("start-mgr")
        mgr_down = False
        client.unset_flag("noout")
        assert flow.client.wait(wf, timeout=180) is WorkflowState.SUCCEEDED
        progress = flow.progress(wf, "h")
        assert any(unreachable_for(p) for p in progress)
        assert progress[-1].startswith("healthy at epoch")
        print(f"'mgr unreachable' shown {said:.1f} s after the mgr was killed")
    finally:
        if mgr_down:
            ceph_lab.cluster.labctl("start-mgr")
        if "noout" in client.osd_dump().flags:
            client.unset_flag("noout")
