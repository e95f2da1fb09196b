"""``operations/pause.py`` on a real Redis, worker and Alertmanager: refusals that change
nothing, a workflow that moves no data only held (no flag, no Ceph reached), and the
workflow's silences extended to ``alertmanager.pause_extension`` while paused."""

from __future__ import annotations

import json
import os
import time

import pytest

from cephflow.engine.client import WorkflowClient
from cephflow.engine.context import StepContext
from cephflow.engine.context_backend import RedisContextBackend
from cephflow.engine.state import NodeState, WorkflowState
from cephflow.errors import InvalidTransition
from cephflow.monitoring.times import epoch
from cephflow.operations import pause as pausing
from cephflow.settings import Settings, get_settings
from cephflow.tasks.downtime import downtime_clear, downtime_set, fact_key
from tests.engine.support import dag, node, wait_node
from tests.fixtures.redis_server import NAMESPACE

pytestmark = pytest.mark.services


def _long() -> object:
    """``a`` runs until the fact ``go`` is set; ``b`` after it; ``fin``."""
    return dag(node("a", task="test.fail_on_fact", args={"key": "go", "fixed_by": "go"}),
               node("b", after=["a"]), node("fin", cleanup=True))


def _configure(**sections: dict) -> None:
    """Write the process's config file (``CEPHFLOW_CONFIG``, per test) and reload it."""
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    with open(os.environ["CEPHFLOW_CONFIG"], "w") as f:
        f.write("\n".join(lines) + "\n")
    get_settings.cache_clear()


def test_a_workflow_that_moves_no_data_is_only_held(client, celery_worker):
    wf = client.submit(_long(), user="tester")
    wait_node(client, wf, "a", NodeState.RUNNING)
    # no cluster is configured here: reaching Ceph would fail the pause
    paused = pausing.pause(client, wf[:8], reason="night", user="alice")
    assert (paused.workflow_id, paused.already, paused.moves_data) == (wf, False, False)
    assert paused.flags == [] and paused.left == [] and paused.silences == []
    assert client.get_fact(wf, pausing.PAUSE_FLAGS_FACT) is None
    assert client.get_fact(wf, "flag.norebalance") is None
    again = pausing.pause(client, wf, reason="other", user="bob")
    assert again.already and (again.pause.by, again.pause.reason) == ("alice", "night")
    assert pausing.is_paused(client, wf)
    client.set_fact(wf, "go", True)
    wait_node(client, wf, "a", NodeState.SUCCEEDED)
    unpaused = pausing.unpause(client, wf, user="alice")
    assert (unpaused.sent, unpaused.lifted) == (1, [])
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED


def test_refusals_change_nothing(client, celery_worker, redis_url):
    other = WorkflowClient(Settings(redis_url=redis_url, namespace=NAMESPACE,
                                    cluster_name="backup-site"))
    try:
        wf = other.submit(_long(), user="tester")
    finally:
        other.close()
    wait_node(client, wf, "a", NodeState.RUNNING)
    with pytest.raises(InvalidTransition, match="works on cluster 'backup-site', these "
                                                "settings reach cluster 'ceph'"):
        pausing.pause(client, wf, reason="x")
    assert client.snapshot(wf).pause is None
    with pytest.raises(InvalidTransition, match="unpause it with that cluster's settings"):
        pausing.unpause(client, wf)
    client.set_fact(wf, "go", True)
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    with pytest.raises(InvalidTransition, match="works on cluster"):
        pausing.pause(client, wf)

    done = client.submit(dag(node("x")), user="tester")
    assert client.wait(done, timeout=30) is WorkflowState.SUCCEEDED
    with pytest.raises(InvalidTransition, match=f"workflow {done} has ended \\(succeeded\\)"):
        pausing.pause(client, done)
    with pytest.raises(InvalidTransition, match="is not paused"):
        pausing.unpause(client, done)
    assert client.history(done)[-1].action.value == "submitted"  # nothing recorded


def test_pause_extends_the_workflows_silences(client, celery_worker, alertmanager):
    _configure(alertmanager={"urls": [alertmanager.url], "attempts": 3, "backoff": 0.01,
                             "pause_extension": 30 * 3600})
    wf = client.submit(_long(), user="tester")
    wait_node(client, wf, "a", NodeState.RUNNING)
    # the silence as the runbook's downtime.set step keeps it: a fact of the workflow
    ctx = StepContext(workflow_id=wf, node_id="silence", settings=get_settings(),
                      backend=RedisContextBackend(client.redis, client.transitions, client.ns))
    downtime_set(ctx, matchers=['instance=~"ceph-osd-17.*"'], duration="1h")
    [handle] = client.get_fact(wf, fact_key("default"))["handles"]
    before = time.time()
    paused = pausing.pause(client, wf, reason="investigating")
    [(name, until)] = paused.silences
    assert name == "default" and before + 30 * 3600 - 5 <= until <= time.time() + 30 * 3600
    assert paused.silence_errors == []
    record = client.get_fact(wf, fact_key("default"))
    assert record["ends_at"] == until
    [live] = [s for s in alertmanager.silences()
              if f"cephflow:{wf}:default" in s["comment"]
              and s["status"]["state"] == "active"]
    assert abs(epoch(live["endsAt"]) - until) < 5
    assert record["handles"][0]["id"] == live["id"]
    # a silence ending later than the extension is left as it is
    assert pausing.pause(client, wf).silences == [("default", until)]
    downtime_clear(ctx)
    assert pausing.unpause(client, wf).sent == 0
    client.set_fact(wf, "go", True)
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert handle["backend"] == "alertmanager"


class _Cluster:
    """Stands in for the Ceph client's flag calls only (the lab test runs the real ones):
    which flags are set, and every set and unset sent."""

    def __init__(self, flags: set[str]):
        self.flags, self.sent = set(flags), []

    def osd_dump(self):
        return type("Dump", (), {"flags": frozenset(self.flags)})()

    def set_flag(self, flag: str) -> None:
        self.sent.append(("set", flag))
        self.flags.add(flag)

    def unset_flag(self, flag: str) -> None:
        self.sent.append(("unset", flag))
        self.flags.discard(flag)


def test_unpause_lifts_only_the_flags_the_pause_set(client, celery_worker):
    wf = client.submit(_long().model_copy(update={"moves_data": True}), user="tester")
    wait_node(client, wf, "a", NodeState.RUNNING)
    # norebalance: set by a step of the workflow (its fact says so); nobackfill: an operator's
    client.set_fact(wf, "flag.norebalance", True)
    cluster = _Cluster({"norebalance", "nobackfill"})
    paused = pausing.pause(client, wf, ceph=cluster)
    assert (paused.flags, paused.left, cluster.sent) == ([], ["nobackfill"], [])
    assert client.get_fact(wf, pausing.PAUSE_FLAGS_FACT) == []
    assert pausing.unpause(client, wf, ceph=cluster).lifted == []
    assert cluster.flags == {"norebalance", "nobackfill"} and cluster.sent == []

    cluster.flags = set()
    paused = pausing.pause(client, wf, ceph=cluster)
    # both set again to freeze the movement; norebalance stays the step's to lift
    assert paused.flags == ["nobackfill"]
    assert cluster.sent == [("set", "norebalance"), ("set", "nobackfill")]
    unpaused = pausing.unpause(client, wf, ceph=cluster)
    assert unpaused.lifted == ["nobackfill"] and cluster.flags == {"norebalance"}
    client.set_fact(wf, "go", True)
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
