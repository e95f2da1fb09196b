"""A gate seen through a pipe: ``cephflow run <runbook with a gate> | cat`` and a late attach.

When stdout is no terminal, the operator (or the log) must still learn that a gate waits
and how to open it, whether the gate opened before or after the follower attached. The CLI
runs with its stdout on a pipe (pexpect's ``PopenSpawn``) against a real redis-server and
Celery worker.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from pexpect import EOF
from pexpect.popen_spawn import PopenSpawn

from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import NodeState, WorkflowState
from cephflow.settings import Settings
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import wait_until

pytestmark = [pytest.mark.services, pytest.mark.slow]

CEPHFLOW = Path(sys.executable).with_name("cephflow")
GATED = """\
name: gated
description: A gate, then a step.
steps:
  - id: confirm
    task: core.approval
    with:
      message: "Is the disk in slot [4] replaced?"
      notify: false
      downtimes: []
  - id: done
    task: core.log
    after: confirm
    with:
      message: "done"
"""


@pytest.fixture
def client(redis_url, celery_worker) -> WorkflowClient:
    engine = WorkflowClient(Settings(redis_url=redis_url, namespace=NAMESPACE))
    yield engine
    engine.close()


@pytest.fixture
def runbook(tmp_path) -> Path:
    path = tmp_path / "gated.yaml"
    path.write_text(GATED)
    return path


def piped(args: list[str], redis_url: str, cwd: Path) -> PopenSpawn:
    env = dict(os.environ, CEPHFLOW_REDIS_URL=redis_url, CEPHFLOW_NAMESPACE=NAMESPACE)
    return PopenSpawn([str(CEPHFLOW), *args], env=env, cwd=str(cwd), encoding="utf-8",
                      timeout=60)


def finish(proc: PopenSpawn) -> int:
    proc.expect(EOF)
    return proc.wait()


def test_run_through_a_pipe_shows_the_waiting_gate_and_its_approve_command(client, redis_url,
                                                                            runbook):
    run = piped(["run", str(runbook)], redis_url, runbook.parent)
    run.expect(r"workflow ([0-9a-f]{12}) submitted")
    wf = run.match.group(1)
    # whether it opened before the follower attached or after: the command is printed
    run.expect(re.escape(f"waiting for approval (anyone): cephflow approve {wf} confirm")
               + "|" + re.escape(f"waits for approval (anyone): cephflow approve {wf} confirm"))
    client.approve(wf, "confirm", user="tester")
    run.expect(re.escape(f"workflow {wf} succeeded"))
    assert finish(run) == 0


def test_attaching_through_a_pipe_to_a_waiting_gate_starts_with_it(client, redis_url, runbook):
    submitted = piped(["run", str(runbook), "--detach"], redis_url, runbook.parent)
    submitted.expect(r"workflow ([0-9a-f]{12}) submitted")
    wf = submitted.match.group(1)
    assert finish(submitted) == 0
    wait_until(lambda: client.snapshot(wf).nodes["confirm"].state is NodeState.RUNNING
               and client.snapshot(wf).nodes["confirm"].detail is not None,
               timeout=30, what="the gate to wait")

    status = piped(["status", wf], redis_url, runbook.parent)
    status.expect(rf"workflow {wf} gated  running  0/2 steps ended\r?\n")
    # the next line, before any event: the gate that already waits, and what opens it
    status.expect(r"[^\n]*\n")
    assert status.match.group(0).rstrip().endswith(
        f"  confirm  waits for approval (anyone): cephflow approve {wf} confirm")

    client.approve(wf, "confirm", user="tester")
    status.expect(re.escape(f"workflow {wf} succeeded"))
    assert finish(status) == 0
    assert client.state(wf) is WorkflowState.SUCCEEDED


def test_run_json_starts_with_where_the_workflow_stands(client, redis_url, runbook):
    run = piped(["run", str(runbook), "--json"], redis_url, runbook.parent)
    run.expect(r"\{\"workflow\": \"([0-9a-f]{12})\"\}\r?\n")
    wf = run.match.group(1)
    run.expect(r"[^\n]*\n")
    start = json.loads(run.match.group(0))
    assert (start["type"], start["workflow"], start["steps"]) == ("attached", wf, 2)
    assert start["state"] == "running"
    command = f"cephflow approve {wf} confirm"
    if not any(g["approve"] == command for g in start["open_gates"]):
        run.expect(re.escape(command))  # it opened after: its progress event says it
    client.approve(wf, "confirm", user="tester")
    assert finish(run) == 0
    assert client.state(wf) is WorkflowState.SUCCEEDED
