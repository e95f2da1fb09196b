"""Following real workflows: the CLI in a pseudo-terminal and in a pipe, and a late attach.

A real redis-server and a real Celery worker (fixtures) run the shipped demo runbook. The
terminal tests drive ``cephflow`` through pexpect exactly as an operator would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from rich.console import Console

from cephflow.cli.views.tree import WorkflowTree
from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import WorkflowSnapshot, WorkflowState
from cephflow.operations.follow import Follower
from cephflow.runbook.compiler import compile_runbook
from cephflow.settings import Settings
from cephflow.tasks import load_all
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import wait_until

pytestmark = [pytest.mark.services, pytest.mark.slow]

CEPHFLOW = Path(sys.executable).with_name("cephflow")
SGR = r"(?:\x1b\[[0-9;]*m)*"
"""Colour and style codes rich puts between a glyph and a name on a terminal."""


def cli_env(redis_url: str) -> dict[str, str]:
    return dict(os.environ, CEPHFLOW_REDIS_URL=redis_url, CEPHFLOW_NAMESPACE=NAMESPACE,
                TERM="xterm-256color")


def spawn(args: list[str], redis_url: str) -> pexpect.spawn:
    return pexpect.spawn(str(CEPHFLOW), args, env=cli_env(redis_url), dimensions=(30, 110),
                         encoding="utf-8", timeout=60)


@pytest.fixture
def client(redis_url, celery_worker) -> WorkflowClient:
    settings = Settings(redis_url=redis_url, namespace=NAMESPACE)
    engine = WorkflowClient(settings)
    yield engine
    engine.close()


def test_live_tree_detach_with_ctrl_c_then_reattach_until_it_succeeds(client, redis_url):
    # one item at a time: the fan-out takes 2.1 s, so the first frames show it half done
    run = spawn(["run", "demo", "--items", "6", "--concurrency", "1", "--pause", "6s"], redis_url)
    run.expect(r"workflow ([0-9a-f]+) submitted")
    wf = run.match.group(1)
    # the fan-out's counters move: first some of 6 done, then all 6, then the wait step runs
    run.expect(r"work" + SGR + r"\s+[0-5]/6 ✓")
    run.expect(r"work" + SGR + r"\s+6/6 ✓")
    run.expect(r"▶" + SGR + r" " + SGR + r"wait")
    run.sendintr()
    run.expect(r"detached: workflow " + wf + r" keeps running")
    run.expect(r"re-attach with: cephflow status " + wf)
    run.expect(pexpect.EOF)
    run.close()
    assert run.exitstatus == 130
    assert client.state(wf) is WorkflowState.RUNNING

    status = spawn(["status", wf[:6]], redis_url)
    status.expect(r"✓" + SGR + r" " + SGR + r"wait")
    status.expect(r"✓" + SGR + r" workflow " + wf + r" succeeded")
    status.expect(pexpect.EOF)
    status.close()
    assert status.exitstatus == 0
    assert client.state(wf) is WorkflowState.SUCCEEDED


def test_piped_output_is_one_timestamped_line_per_event(client, redis_url):
    done = subprocess.run([str(CEPHFLOW), "run", "demo", "--items", "3", "--pause", "1s"],
                          env=cli_env(redis_url), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    wf = re.match(r"workflow ([0-9a-f]+) submitted", lines[0]).group(1)
    assert "\x1b[" not in done.stdout
    stamped = lines[1:-1]
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  ", line) for line in stamped)
    assert any(re.search(r"  work\[item-2\]  succeeded  \d", line) for line in stamped)
    assert any(line.endswith(f"workflow {wf[:8]} succeeded") for line in stamped)
    # the attach line, then one line per event after the snapshot it attached to
    events = client.events(wf, "0-0", None, 10_000)
    tail = events[len(events) - (len(stamped) - 1):]
    assert tail[-1].type.value == "workflow_state" and len(tail) >= 20
    for line, event in zip(stamped[1:], tail, strict=True):
        assert (event.node or "workflow") in line and (event.state or event.detail) in line
    assert lines[-1].startswith(f"✓ workflow {wf} succeeded after ")


def test_a_follower_attaching_half_way_ends_like_one_from_the_start(client):
    load_all()
    dag = compile_runbook("demo", {"items": 8, "pause": "2s", "concurrency": 2})
    wf = client.submit(dag)
    early = Follower(client, wf)
    total = len(dag.nodes)

    def half_ended():
        snap = client.snapshot(wf)
        ended = sum(1 for n in snap.nodes.values() if n.state.terminal)
        return ended >= total // 2 and not snap.state.terminal

    wait_until(half_ended, timeout=60, what="half of the workflow to end")
    late = Follower(client, wf)
    assert late.snapshot.last_event_id > early.snapshot.last_event_id
    for follower in (early, late):
        while not follower.done:
            follower.poll(500)
    truth = client.snapshot(wf)

    def essentials(snapshot):
        return (snapshot.state, snapshot.ended_at, snapshot.last_event_id, {
            n.id: (n.state, n.attempt, n.started_at, n.ended_at, n.detail, n.error)
            for n in snapshot.nodes.values()})

    assert essentials(early.snapshot) == essentials(late.snapshot) == essentials(truth)
    assert truth.state is WorkflowState.SUCCEEDED

    def drawn(snapshot) -> str:
        console = Console(color_system=None, width=100, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
        console.print(WorkflowTree(snapshot, now=truth.ended_at or 0, height=30))
        return console.export_text()

    assert drawn(early.snapshot) == drawn(late.snapshot) == drawn(truth)
    assert re.search(r"├── ✓ work +8/8 ✓", drawn(truth))


FAILING = """\
name: breaks
description: one step that fails with a long error
steps:
  - id: prep
    task: core.log
    with:
      message: prep
  - id: boom
    task: core.fail
    after: prep
    with:
      message: "osd.3 is not ok-to-stop\\npg 2.1f would be inactive\\npg 2.3a would be inactive"
"""


def cephflow(args: list[str], redis_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CEPHFLOW), *args], env=cli_env(redis_url), capture_output=True,
                          text=True, timeout=120)


def test_status_lists_shows_json_and_one_step_and_exits_by_outcome(client, redis_url, tmp_path):
    load_all()
    ok = client.submit(compile_runbook("demo", {"items": 3, "pause": "0s"}))
    assert client.wait(ok, timeout=60) is WorkflowState.SUCCEEDED
    runbook = tmp_path / "breaks.yaml"
    runbook.write_text(FAILING)
    bad = client.submit(compile_runbook(runbook))
    assert client.wait(bad, timeout=60) is WorkflowState.FAILED

    listing = cephflow(["status"], redis_url)
    assert listing.returncode == 0, listing.stderr
    rows = [row.rstrip() for row in listing.stdout.splitlines()]
    assert rows[0].split() == ["id", "runbook", "state", "started", "took", "steps", "target"]
    assert rows[1].startswith(bad[:8]) and "✗ failed" in rows[1] and rows[1].endswith("2/2")
    assert rows[2].startswith(ok[:8]) and "✓ succeeded" in rows[2] and rows[2].endswith("7/7")
    assert "items=" not in rows[2]  # a count says nothing in a list; a target would

    listed = json.loads(cephflow(["status", "--json"], redis_url).stdout)
    assert [(w["id"], w["state"], w["nodes"]) for w in listed] == [
        (bad, "failed", 2), (ok, "succeeded", 7)]

    shown = cephflow(["status", ok[:5], "--json"], redis_url)
    snapshot = WorkflowSnapshot.model_validate_json(shown.stdout)
    assert (snapshot.id, snapshot.state, len(snapshot.nodes)) == (ok, WorkflowState.SUCCEEDED, 7)

    attached = cephflow(["status", bad[:5]], redis_url)
    assert attached.returncode == 1
    assert attached.stdout.splitlines()[-1] == (
        f"✗ workflow {bad} failed after {attached.stdout.split('failed after ')[1].split()[0]} "
        "at boom: osd.3 is not ok-to-stop")

    step = cephflow(["status", bad[:5], "--step", "boom"], redis_url)
    assert step.returncode == 0
    assert step.stdout.endswith("error:\n  osd.3 is not ok-to-stop\n  pg 2.1f would be inactive\n"
                                "  pg 2.3a would be inactive\n")

    missing = cephflow(["status", "zz"], redis_url)
    assert missing.returncode == 2 and "no workflow matches 'zz'" in missing.stderr
