"""Once their retention has passed, finished workflows of every shape leave nothing behind in
the namespace but the keys ``keys.long_lived`` names (audit records, indexes, ...).

Every shape the engine ends in, through a real worker: succeeded after a retried step that kept
a fact, a once-marker and progress lines; failed with a finally step; cancelled while a step
waits; a runtime fan-out in a concurrency-limited group (per-group ready lists); an approval
gate; a resumed workflow; two of them holding a lock. Each is submitted with a retention of ``RETENTION`` seconds.
"""

from __future__ import annotations

import fnmatch

import pytest

from cephflow.engine import keys
from cephflow.engine.client import WorkflowClient
from cephflow.engine.context_backend import RedisContextBackend
from cephflow.engine.state import NodeState, WorkflowState
from cephflow.runbook.dag import FanOut, Late, RetryPolicy, StepRef
from cephflow.settings import Settings
from tests.engine.recorded import recorded
from tests.engine.support import dag, node
from tests.fixtures.celery_worker import LEASE_SECONDS
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import wait_until

pytestmark = pytest.mark.services

RETENTION = 5.0
"""Seconds a finished workflow is kept (``Settings.retention_days``): long enough that the
checks made right after a workflow ends (its keys still there, a late write landing while
it exists) hold on a loaded machine, short enough to wait for."""


@pytest.fixture
def short_lived(redis_url):
    client = WorkflowClient(Settings(redis_url=redis_url, namespace=NAMESPACE,
                                     lease_seconds=LEASE_SECONDS,
                                     retention_days=RETENTION / 86400))
    yield client
    client.close()


def leftovers(client: WorkflowClient) -> list[str]:
    """The namespace's keys that are neither long-lived nor the test tasks' own records."""
    ours = recorded(NAMESPACE, "*", "*")
    return sorted(k for k in client.redis.scan_iter(match=f"{NAMESPACE}:*", count=1000)
                  if not keys.is_long_lived(k, NAMESPACE)
                  and not fnmatch.fnmatchcase(k, ours))


def running(client: WorkflowClient, wf: str, node_id: str) -> None:
    wait_until(lambda: client.snapshot(wf).nodes[node_id].state is NodeState.RUNNING,
               timeout=20, what=f"{node_id} running")


def submit_every_shape(client: WorkflowClient) -> dict[str, WorkflowState]:
    """One workflow of each shape, run to its end; returns id -> how it ended."""
    ended: dict[str, WorkflowState] = {}

    def run(d, *, then=None) -> str:
        wf = client.submit(d, user="tester")
        if then:
            then(wf)
        ended[wf] = client.wait(wf, timeout=30)
        return wf

    # retried step keeping a fact and progress, a once-marker, a finally step
    run(dag(node("once", task="test.once"),
            node("fact", task="test.fact", args={"key": "k", "value": "v"}, after=["once"],
                 retry=RetryPolicy(attempts=2, backoff=0.1)),
            node("fin", cleanup=True)))
    # a failed step: the finally step undoes the setup
    run(dag(node("setup", task="test.setup"), node("bad", task="test.fail", after=["setup"]),
            node("undo", cleanup=True), locks=["host:x"]))
    # cancelled while a step waits
    run(dag(node("w", task="test.wait_fact", args={"key": "never"}), node("fin", cleanup=True),
            locks=["host:x"]),
        then=lambda wf: (running(client, wf, "w"), client.cancel(wf, user="tester")))
    # a runtime fan-out, one member at a time (held back in the group's ready list)
    run(dag(node("discover", task="test.output", args={"value": {"osds": [1, 2, 3]}}),
            node("drain", task="test.output", after=["discover"],
                 expand=FanOut(items="{{ steps.discover.output.osds }}", var="osd",
                               concurrency=1, source="the output of discover"),
                 late=Late(args={"value": {"osd": "{{ osd }}"}},
                           reads={"discover": StepRef(nodes=["discover"])})),
            node("after", after=["drain"]), groups={"drain": 1}))
    # an approval gate
    run(dag(node("gate", task="core.approval",
                 args={"approvers": [], "notify": False, "downtimes": []}),
            node("after", after=["gate"])),
        then=lambda wf: (running(client, wf, "gate"), client.approve(wf, "gate", user="tester")))
    # failed, fixed, resumed
    resumed = run(dag(node("a", task="test.fail", args={"fixed_by": "fixed"})))
    assert ended[resumed] is WorkflowState.FAILED
    client.set_fact(resumed, "fixed", True)
    client.resume(resumed, user="tester")
    ended[resumed] = client.wait(resumed, timeout=30)
    return ended


def test_finished_workflows_leave_only_long_lived_keys(short_lived, celery_worker):
    client = short_lived
    ended = submit_every_shape(client)
    assert list(ended.values()) == [WorkflowState.SUCCEEDED, WorkflowState.FAILED,
                                    WorkflowState.CANCELLED, WorkflowState.SUCCEEDED,
                                    WorkflowState.SUCCEEDED, WorkflowState.SUCCEEDED]
    assert any(k.startswith(keys.workflow_prefix(NAMESPACE)) for k in leftovers(client))
    try:
        wait_until(lambda: not leftovers(client), timeout=10 + RETENTION,
                   what="only long-lived keys left")
    except AssertionError:
        pytest.fail(f"keys left after their workflow's retention: {leftovers(client)[:20]}")
    for wf, state in ended.items():
        assert client.audit(wf)["outcome"] == state.value
    # the long-lived keys hold nothing of them but their audit records and index entries,
    # and listing drops those index entries
    for shared in (keys.leases(NAMESPACE), keys.submitting(NAMESPACE)):
        assert client.redis.zrange(shared, 0, -1) == [], shared
    assert list(client.redis.scan_iter(match=f"{keys.lock_prefix(NAMESPACE)}*")) == []
    assert client.list_workflows(100) == []
    assert not client.redis.exists(keys.workflows(NAMESPACE), keys.workflow_ids(NAMESPACE))


def late_writes(client: WorkflowClient, wf: str) -> bool:
    """What a copy of step ``a`` still running after its workflow ended writes (sent again when
    its lease expired, the other copy finished): a fact, a once-marker, a memo entry and a
    progress line, each into a key the workflow did not have. True if the marker was new."""
    backend = RedisContextBackend(client.redis, client.transitions, NAMESPACE)
    backend.set_fact(wf, "late", True)
    first = backend.claim_once(wf, "a", "late")
    backend.set_node_memo(wf, "a", "late", 1)
    backend.publish_progress(wf, "a", "late", {})
    return first


def test_what_a_late_copy_of_a_step_writes_expires_with_its_workflow(short_lived,
                                                                      celery_worker):
    client = short_lived
    wf = client.submit(dag(node("a")), user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    wk = keys.WorkflowKeys(NAMESPACE, wf)
    assert not client.redis.exists(wk.facts, wk.once, wk.memo("a"), wk.detail)
    assert late_writes(client, wf)
    ttls = {k: client.redis.pttl(k) for k in (wk.facts, wk.once, wk.memo("a"), wk.detail)}
    assert all(0 < t <= RETENTION * 1000 for t in ttls.values()), ttls
    wait_until(lambda: not client.redis.exists(wk.meta), timeout=10 + RETENTION,
               what="the workflow expired")
    assert not late_writes(client, wf)  # expired: not the first, and nothing is written
    client.set_fact(wf, "later", True)
    wait_until(lambda: not leftovers(client), timeout=10 + RETENTION, what="its keys to expire")
    assert leftovers(client) == []
