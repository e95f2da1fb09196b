"""User text is printed as typed: square brackets in step ids, reasons and errors survive.

Step ids are ``step[label]`` and reasons are free text; rich would read ``[item-0]`` or
``[slot 4]`` as a markup tag and drop it. The CLI runs as a subprocess against a real
redis-server and Celery worker, so what is checked is what an operator sees.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from cephflow.cli.errors import report_error
from cephflow.engine.state import EventType, NodeState, WorkflowState
from cephflow.errors import InvalidTransition
from tests.engine.support import dag, node
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import wait_until
from tests.paths import CEPHFLOW

GATE_ARGS = {"approvers": [], "notify": False, "downtimes": []}


def cli(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CEPHFLOW_REDIS_URL=redis_url, CEPHFLOW_NAMESPACE=NAMESPACE)
    return subprocess.run([CEPHFLOW, *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_an_error_message_prints_its_brackets(capsys):
    message = "'work[item-0]' expects list[str], not dict[str, int] [slot 4]"
    assert report_error(InvalidTransition(message)) == 2
    assert capsys.readouterr().err == f"error: {message}\n"


@pytest.mark.services
def test_bracketed_step_ids_and_reasons_round_trip(client, celery_worker, redis_url):
    wf = client.submit(dag(
        node("work[item-0]", step="work", task="core.approval", args=GATE_ARGS),
        node("work[item-1]", step="work", task="core.approval", args=GATE_ARGS),
    ), user="tester")
    wait_until(lambda: all(n.state is NodeState.RUNNING for n in client.snapshot(wf).nodes.values()),
               timeout=20, what="both gates waiting")

    unknown = cli(redis_url, "approve", wf, "nope[x]")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith(f"error: workflow {wf}: 'nope[x]' names no open approval "
                                     "gate; open approval steps: work\n"), unknown.stderr

    approved = cli(redis_url, "approve", wf, "work[item-0]")
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout == f"approved work[item-0] of workflow {wf}\n"

    rejected = cli(redis_url, "reject", wf, "work[item-1]", "--reason", "wrong disk [slot 4]")
    assert rejected.returncode == 0, rejected.stderr
    assert rejected.stdout == f"rejected work[item-1] of workflow {wf}: wrong disk [slot 4]\n"

    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    assert client.get_fact(wf, "approval:work[item-1]")["reason"] == "wrong disk [slot 4]"
    decided = {e.node: e.data.get("reason") for e in client.events(wf, "0-0", count=1000)
               if e.type is EventType.APPROVAL}
    assert decided == {"work[item-0]": None, "work[item-1]": "wrong disk [slot 4]"}

    status = cli(redis_url, "status", wf, "--step", "work[item-1]")
    assert "rejected by" in status.stdout and "wrong disk [slot 4]" in status.stdout, status.stdout
