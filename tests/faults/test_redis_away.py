"""Redis away in the middle of a followed workflow: the worker and ``cephflow run`` wait.

A Redis of the test's own (AOF, ``appendfsync always``) is stopped while the demo's
``wait`` step runs and ``cephflow run`` follows it (plain output, as in a pipe), and started
again once both the follower and the worker have said that Redis is away: the outage lasts
as long as noticing it takes, a few seconds, never a sleep. Both said it once, with the
patience they wait for (``redis_patience``, 30 s by default, the figure of issue 16), then
"back"; the workflow ends as it would have, each step run once.

The patience's end (giving up with exit 5 after ``redis_patience``) is
``tests/cli/test_redis_outage.py``, on a fake clock: a real 30 s outage would prove nothing
more and cost 30 s.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import time

import pytest

from cephflow.engine.state import NodeState, WorkflowState
from cephflow.errors import ExitStatus
from tests.faults.support import cephflow_env
from tests.fixtures.services import wait_until
from tests.fixtures.workflow_client import make_client
from tests.paths import CEPHFLOW, REPO

pytestmark = [pytest.mark.services, pytest.mark.slow]

AWAY = "Redis unreachable"
PATIENCE = "trying again for up to 30s"


class Output:
    """A pipe read as it comes, without blocking: what it said so far."""

    def __init__(self, pipe) -> None:
        self.fd = pipe.fileno()
        os.set_blocking(self.fd, False)
        self.text = ""

    def said(self, pattern: str) -> re.Match[str] | None:
        while select.select([self.fd], [], [], 0.05)[0]:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                break
            self.text += chunk.decode(errors="replace")
        return re.search(pattern, self.text, re.M)


def test_the_worker_and_the_follower_wait_for_redis_and_go_on(tmp_path, own_redis,
                                                              worker_factory):
    worker = worker_factory(own_redis.url)
    run = subprocess.Popen([CEPHFLOW, "run", "demo", "--items", "2", "--pause", "2s"],
                           env=cephflow_env(own_redis.url), cwd=REPO, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = Output(run.stdout), Output(run.stderr)
        wf = wait_until(lambda: out.said(r"^workflow ([0-9a-f]+) submitted"), timeout=60,
                        what="the submit").group(1)
        wait_until(lambda: out.said(r"  wait  running"), timeout=60, what="wait running")
        own_redis.stop()
        wait_until(lambda: err.said(AWAY), timeout=30, what="the follower to say so")
        wait_until(lambda: AWAY in worker.output(), timeout=30, what="the worker to say so")
        away = time.monotonic()
        own_redis.start()
        code = run.wait(timeout=90)
        back = time.monotonic() - away
        out.said("$"), err.said("$")  # what is left in the pipes
        assert code == ExitStatus.SUCCEEDED, out.text + err.text
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert back < 60  # the broker's reconnection backs off a few seconds at most
    lines = err.text.splitlines()
    assert len(lines) == 2, err.text  # once when it went, once when it came back
    assert lines[0].startswith(f"warning: {AWAY} for 0s (")
    assert lines[0].endswith(PATIENCE)
    assert re.fullmatch(r"Redis is back after \d+\.\ds", lines[1])
    assert re.search(AWAY + r" .*trying again for up to 30s", worker.output())
    assert out.text.rstrip().splitlines()[-1].startswith(f"✓ workflow {wf} succeeded")
    client = make_client(own_redis.url)
    snap = client.snapshot(wf)
    assert snap.state is WorkflowState.SUCCEEDED
    assert {n.state for n in snap.nodes.values()} == {NodeState.SUCCEEDED}
    assert {n.attempt for n in snap.nodes.values()} == {1}  # nothing lost, nothing twice
    client.close()
