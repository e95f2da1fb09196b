"""Misuse through the real CLI: racing submits, and commands that do not fit the state.

Each refusal is a clear ``error:`` line with its exit status and leaves the workflow as it
was: its states, its audit record, the lock and the list of workflows.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from cephflow.engine import keys
from cephflow.engine.state import NodeState, WorkflowState
from cephflow.errors import ExitStatus
from cephflow.runbook.compiler import compile_runbook
from cephflow.tasks import load_all
from tests.faults.support import cephflow, one_error
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import wait_until
from tests.paths import REPO

pytestmark = [pytest.mark.services, pytest.mark.slow]

SUBMITTERS = 50

LOCKED = """name: on-host-x
locks: ["host:x"]
steps:
  - id: hold
    task: core.sleep
    with: {seconds: 600}
"""

GATED = """name: gated
steps:
  - id: first
    task: core.log
    with: {message: before the gate}
  - id: gate
    task: core.approval
    after: [first]
  - id: last
    task: core.log
    after: [gate]
    with: {message: after the gate}
"""

ID = re.compile(r"\b([0-9a-f]{12,})\b")


def test_fifty_racing_submits_of_one_lock_let_exactly_one_win(tmp_path, client, celery_worker,
                                                             redis_url):
    """50 operators start a runbook on the same host at the same moment: one workflow runs,
    49 are refused with exit 3 naming it, and none of them leaves a workflow behind.

    50 ``cephflow run`` processes take about 2 s of CPU each before they submit (imports),
    too long for 2 cores; each racer is a process making the call ``cephflow run`` makes
    (``tests/faults/submitter.py``), released together once all are connected.
    (tests/cli/test_exit_statuses.py runs the CLI's own exit 3 with the holder's id.)
    """
    book = tmp_path / "locked.yaml"
    book.write_text(LOCKED)
    load_all()
    frozen = tmp_path / "dag.json"
    frozen.write_text(compile_runbook(book).model_dump_json())
    env = dict(os.environ, CEPHFLOW_REDIS_URL=redis_url, CEPHFLOW_NAMESPACE=NAMESPACE,
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    procs = [subprocess.Popen([sys.executable, "-m", "tests.faults.submitter", str(frozen)],
                              env=env, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for _ in range(SUBMITTERS)]
    results = []
    try:
        for proc in procs:  # every racer connected before any submits
            assert proc.stdout.readline() == "ready\n", proc.communicate(timeout=10)
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            results.append((proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    won = [r for r in results if r[0] == 0]
    lost = [r for r in results if r[0] == ExitStatus.LOCK_HELD]
    assert len(won) == 1, [r for r in results if r[0] not in (0, ExitStatus.LOCK_HELD)][:3]
    assert len(lost) == SUBMITTERS - 1, [r for r in results if r[0] != ExitStatus.LOCK_HELD][:3]
    winner = won[0][1].strip()
    for _, _, err in lost:
        assert err == f"error: lock 'host:x' is held by workflow {winner}\n", err
    try:
        assert [w.id for w in client.list_workflows(SUBMITTERS * 2)] == [winner]
        assert client.redis.get(keys.lock(NAMESPACE, "ceph", "host:x")) == winner
        leftovers = {k.split(":")[2] for k in client.redis.keys(f"{keys.workflow_prefix(NAMESPACE)}*")}
        assert leftovers == {winner}
        assert client.redis.zcard(keys.submitting(NAMESPACE)) == 0
    finally:
        client.cancel(winner)
        assert client.wait(winner, timeout=60) is WorkflowState.CANCELLED
    assert client.redis.get(keys.lock(NAMESPACE, "ceph", "host:x")) is None  # released


def _at_gate(client, wf: str) -> bool:
    return client.snapshot(wf).nodes["gate"].state is NodeState.RUNNING


def _unchanged(client, wf: str) -> tuple:
    """What a refused command must leave as it was: node states, workflow state, audit."""
    snap = client.snapshot(wf)
    return ({n: s.state for n, s in snap.nodes.items()}, snap.state, client.audit(wf))


def test_commands_that_do_not_fit_the_state_are_refused_and_change_nothing(
        tmp_path, client, celery_worker, redis_url):
    book = tmp_path / "gated.yaml"
    book.write_text(GATED)
    started = cephflow(["run", str(book), "--detach", "--quiet"], redis_url, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    wf = ID.search(started.stdout).group(1)
    wait_until(lambda: _at_gate(client, wf), timeout=30, what="the gate waiting")
    before = _unchanged(client, wf)

    resumed = cephflow(["resume", wf], redis_url)  # resume of a running workflow
    assert resumed.returncode == ExitStatus.BAD_INPUT, resumed.stdout + resumed.stderr
    assert one_error(resumed) == (f"error: workflow {wf} is running: only failed or "
                                  "cancelled workflows resume")
    from_step = cephflow(["resume", wf, "--from", "first"], redis_url)
    assert from_step.returncode == ExitStatus.BAD_INPUT, from_step.stdout + from_step.stderr
    assert one_error(from_step) == (f"error: workflow {wf} is running: only a failed, "
                                    "cancelled or succeeded workflow resumes from a step")
    retried = cephflow(["retry", wf, "first"], redis_url)
    assert retried.returncode == ExitStatus.BAD_INPUT, retried.stdout + retried.stderr
    assert one_error(retried) == (f"error: workflow {wf} is running: only a failed "
                                  "workflow's failed steps are retried")
    assert _unchanged(client, wf) == before
    assert "resumed_by" not in client.audit(wf) and "retried_by" not in client.audit(wf)

    done_step = cephflow(["approve", wf, "first"], redis_url)  # a step that is no gate
    assert done_step.returncode == ExitStatus.BAD_INPUT, done_step.stdout + done_step.stderr
    assert one_error(done_step) == (f"error: workflow {wf}: 'first' names no open approval "
                                 "gate; open approval steps: gate")
    not_reached = cephflow(["approve", wf, "last"], redis_url)  # no gate, not reached
    assert not_reached.returncode == ExitStatus.BAD_INPUT, not_reached.stderr
    assert one_error(not_reached) == (f"error: workflow {wf}: 'last' names no open approval "
                                 "gate; open approval steps: gate")
    unknown = cephflow(["approve", wf, "gaet"], redis_url)  # a typo
    assert unknown.returncode == ExitStatus.BAD_INPUT, unknown.stderr
    assert one_error(unknown) == (f"error: workflow {wf}: 'gaet' names no open approval "
                                 "gate; open approval steps: gate")
    assert _unchanged(client, wf) == before

    approved = cephflow(["approve", wf, "gate"], redis_url)
    assert approved.returncode == 0, approved.stderr
    assert client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
    after = _unchanged(client, wf)

    cancelled = cephflow(["cancel", wf], redis_url)  # cancel of a finished workflow
    assert cancelled.returncode == ExitStatus.BAD_INPUT, cancelled.stdout + cancelled.stderr
    assert one_error(cancelled) == f"error: workflow {wf} has already ended (succeeded)"
    assert _unchanged(client, wf) == after
    assert client.audit(wf)["outcome"] == "succeeded"
    status = cephflow(["status", wf], redis_url)
    assert status.returncode == 0 and "succeeded" in status.stdout
