"""The terminal of a ``cephflow run`` that follows its workflow goes away mid-run.

``cephflow run`` follows in a pseudo-terminal that is its controlling terminal, as in an SSH
session; the test closes the terminal's master side (the SSH connection dropping, the window
closed) while a step runs. The kernel hangs the terminal up: the follower gets SIGHUP and
ends, as every terminal program does. Started under ``nohup`` (SIGHUP ignored) its next
write fails instead and it ends as detached (130) with one ``error:`` line. Either way following is all it
stops: the workflow is the worker's, runs to its end, nothing is cancelled and no step
runs twice. stderr goes to a file, so a traceback would be seen.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time

import pytest

from cephflow.engine.state import NodeState, WorkflowState
from cephflow.errors import ExitStatus
from tests.faults.support import cephflow_env
from tests.paths import CEPHFLOW, REPO

pytestmark = [pytest.mark.services, pytest.mark.slow]  # a CLI and a demo run each: ~10 s

SGR = r"(?:\x1b\[[0-9;]*m)*"
WAIT_RUNNING = re.compile(r"▶" + SGR + r" " + SGR + r"wait")
WORKFLOW_ID = re.compile(r"workflow ([0-9a-f]{12,}) submitted")


def read_until(fd: int, pattern: re.Pattern[str], *, timeout: float) -> str:
    """What the terminal shows until ``pattern`` appears in it (bounded by ``timeout``)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while not pattern.search(seen.decode(errors="replace")):
        left = deadline - time.monotonic()
        assert left > 0, f"timed out waiting for {pattern.pattern!r}:\n{seen[-2000:]!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            seen += os.read(fd, 65536)
    return seen.decode(errors="replace")


def follow_in_a_terminal(redis_url: str, stderr_path, *, ignore_hangup: bool):
    """``cephflow run demo`` whose controlling terminal is a new pty; (process, master fd)."""
    master, slave = os.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))

    def become_its_terminal() -> None:  # in the child, after setsid: the pty controls it
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        if ignore_hangup:
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as nohup leaves it

    env = cephflow_env(redis_url, TERM="xterm-256color")
    del env["NO_COLOR"]
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            [CEPHFLOW, "run", "demo", "--items", "2", "--pause", "2s"], env=env, cwd=REPO,
            stdin=slave, stdout=slave, stderr=err, start_new_session=True,
            preexec_fn=become_its_terminal)  # noqa: PLW1509 - the one way to a controlling tty
    os.close(slave)
    return proc, master


@pytest.mark.parametrize("ignore_hangup", [False, True], ids=["hangup", "nohup"])
def test_closing_the_followers_terminal_ends_the_follower_not_the_workflow(
        tmp_path, client, celery_worker, redis_url, ignore_hangup):
    errors = tmp_path / "stderr"
    proc, master = follow_in_a_terminal(redis_url, errors, ignore_hangup=ignore_hangup)
    try:
        shown = read_until(master, WAIT_RUNNING, timeout=60)  # the follower draws its tree
        wf = WORKFLOW_ID.search(shown).group(1)
    finally:
        os.close(master)  # the terminal goes away while `wait` runs
    code = proc.wait(timeout=30)
    if ignore_hangup:
        assert code == ExitStatus.DETACHED, errors.read_text()
        assert errors.read_text() == ("error: the terminal went away; stopped following "
                                      "(any workflow keeps running)\n")
    else:
        assert code == -signal.SIGHUP, errors.read_text()
        assert errors.read_text() == ""
    assert client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
    snap = client.snapshot(wf)
    assert {n.state for n in snap.nodes.values()} == {NodeState.SUCCEEDED}  # none cancelled
    assert {n.attempt for n in snap.nodes.values()} == {1}  # each step ran once
