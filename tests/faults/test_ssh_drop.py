"""The SSH connection to the admin host dropping in the middle of a ``ceph`` command (issue 16).

A read that was cut off is run again (it changes nothing); a change is never sent again by
the client, since it may have been applied before the connection broke: it surfaces as a
TransportError, and the step's retry runs the task again, which asks the cluster first and
finds the change done.

The sshd is real; ``ceph`` on its side is a stand-in keeping an OSD map in a file. The run
of a command the test picks hangs (a change hangs after it is applied) until the sshd process
serving that connection is killed by the test (found by PID: the ancestors of the hanging
``ceph`` below the listening sshd), the way a reboot or a network cut ends a session.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cephflow.ceph.access import forget_clients
from cephflow.ceph.backends import CliBackend
from cephflow.ceph.client import CephClient
from cephflow.errors import NoAnswer, StepFailed, TransportError
from cephflow.settings import CephSettings, Settings
from cephflow.tasks.ceph.flags import set_flag
from cephflow.tasks.ceph.weight import mark_out
from tests.fixtures.services import wait_until
from tests.tasks.support import make_ctx

pytestmark = pytest.mark.services

CEPH = """#!{python} -S
import json, os, sys, time
state_file, log_file, hang_dir = {state!r}, {log!r}, {hang!r}
words = []
skip = False
for arg in sys.argv[1:]:
    if skip or arg[:1].isdigit():
        skip = False
        continue
    skip = arg in ("-c", "--connect-timeout", "-f")
    if not skip:
        words.append(arg)
words = " ".join(words)
with open(state_file, encoding="utf-8") as f:
    state = json.load(f)
answer = ""
if words == "osd dump":
    answer = json.dumps({{"epoch": state["epoch"], "flags": ",".join(state["flags"]), "osds": [
        {{"osd": int(osd), "up": 1, "in": flag}} for osd, flag in state["in"].items()]}})
elif words in ("osd out", "osd set noout"):
    if words == "osd out":
        state["in"][sys.argv[-1]] = 0
        answer = "marked out osd." + sys.argv[-1] + ". "
    else:
        state["flags"].append("noout")
        answer = "noout is set"
    state["epoch"] += 1
    with open(state_file + ".new", "w", encoding="utf-8") as f:
        json.dump(state, f)
    os.replace(state_file + ".new", state_file)
hang = os.path.join(hang_dir, words.replace(" ", "-"))
hung = os.path.exists(hang)
if hung:
    os.unlink(hang)  # once
with open(log_file, "a", encoding="utf-8") as log:
    log.write(json.dumps({{"words": words, "pid": os.getpid(), "hung": hung}}) + "\\n")
if hung:  # until the sshd serving this command is gone (bounded: never left behind)
    parent, deadline = os.getppid(), time.monotonic() + 20
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.02)
    sys.exit(0)
sys.stdout.write(answer)
"""


class RemoteCeph:
    """The ``ceph`` the admin host runs: osd.3 is in and no flag is set, at epoch 10, until
    ``osd out 3`` or ``osd set noout``."""

    def __init__(self, directory: Path):
        self.state = directory / "osdmap.json"
        self.state.write_text(json.dumps({"epoch": 10, "in": {"3": 1}, "flags": []}))
        self.log = directory / "ceph-runs.jsonl"
        self.hang_dir = directory / "hang"
        self.hang_dir.mkdir()
        self.path = directory / "ceph"
        self.path.write_text(CEPH.format(python=sys.executable, state=str(self.state),
                                         log=str(self.log), hang=str(self.hang_dir)))
        self.path.chmod(0o755)

    def hang_once(self, words: str) -> None:
        (self.hang_dir / words.replace(" ", "-")).touch()

    def runs(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def words(self) -> list[str]:
        return [run["words"] for run in self.runs()]

    def osdmap(self) -> dict:
        return json.loads(self.state.read_text())


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def _name(pid: int) -> str:
    with open(f"/proc/{pid}/comm", encoding="utf-8") as comm:
        return comm.read().strip()


def drop_connection(sshd, pid: int) -> list[int]:
    """SIGKILL the sshd processes serving the command ``pid`` (those between it and the
    listening sshd); the PIDs killed."""
    serving = []
    current = _parent(pid)
    while current not in (sshd.pid, 0, 1):
        if _name(current).startswith("sshd"):
            serving.append(current)
        current = _parent(current)
    assert current == sshd.pid and serving, f"ceph {pid} is not run by the test's sshd"
    for process in serving:
        os.kill(process, signal.SIGKILL)
    return serving


def cut_while(sshd, ceph: RemoteCeph, words: str, call: Callable[[], Any]) -> dict[str, Any]:
    """``call()`` in a thread while the run of ``ceph WORDS`` hangs, and the connection under
    it dropped: ``{"value": ...}`` or ``{"error": ...}``."""
    ceph.hang_once(words)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except Exception as exc:  # handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_until(lambda: any(r["hung"] for r in ceph.runs()), timeout=10,
               what=f"ceph {words} running on the admin host")
    [hung] = [r for r in ceph.runs() if r["hung"]]
    drop_connection(sshd, hung["pid"])
    thread.join(timeout=15)
    assert not thread.is_alive(), "the call did not end once its connection dropped"
    return outcome


def test_a_read_cut_off_by_a_dropped_connection_is_run_again(sshd, tmp_path):
    ceph = RemoteCeph(tmp_path)
    runner = sshd.runner(command_timeout=10)
    client = CephClient(CliBackend(runner, binary=str(ceph.path)))
    try:
        outcome = cut_while(sshd, ceph, "osd dump", client.osd_dump)
        assert "error" not in outcome, outcome
        dump = outcome["value"]
        assert (dump.epoch, dump.osds[3].in_) == (10, True)
        assert ceph.words() == ["osd dump", "osd dump"]  # cut off, then asked again
        assert [r["hung"] for r in ceph.runs()] == [True, False]
    finally:
        runner.close()


# (task, its arguments, the change it sends, what the cluster shows once it is applied, what
# the task returns on its retry)
CHANGES = [
    (mark_out, {"osd": 3}, "osd out", {"epoch": 11, "in": {"3": 0}, "flags": []},
     {"osd": 3, "in": False, "epoch": 11}, ["osd dump", "osd dump"]),
    (set_flag, {"flag": "noout"}, "osd set noout", {"epoch": 11, "in": {"3": 1}, "flags": ["noout"]},
     {"flag": "noout", "ours": True}, ["osd dump"]),
]


@pytest.mark.parametrize(("task", "args", "change", "applied", "answer", "retry_reads"),
                         CHANGES, ids=["ceph.out", "ceph.set_flag"])
def test_a_change_cut_off_is_not_sent_again_and_its_retry_finds_it_done(
        task, args, change, applied, answer, retry_reads, sshd, tmp_path):
    ceph = RemoteCeph(tmp_path)
    settings = Settings(ceph=CephSettings(
        ssh_host=sshd.host, ssh_port=sshd.port, ssh_user=sshd.user, ssh_key=sshd.client_key,
        known_hosts=sshd.known_hosts, ceph_binary=str(ceph.path), backend="cli",
        command_timeout=10, call_timeout=10))
    ctx = make_ctx(settings, node_id="change")
    try:
        # attempt 1: the cluster does not show the change, so it is sent; the connection drops
        outcome = cut_while(sshd, ceph, change, lambda: task(ctx, **args))
        error = outcome.get("error")
        assert isinstance(error, TransportError) and not isinstance(error, NoAnswer), outcome
        assert not isinstance(error, StepFailed)  # so the step's retry policy runs it again
        assert change in str(error) and "connection lost" in str(error)
        assert ceph.words() == ["osd dump", change]  # the client did not send it again
        assert ceph.osdmap() == applied  # though the cluster had applied it
        # attempt 2, as the step's retry policy runs it: the cluster is asked first
        assert task(ctx, **args) == answer
        assert ceph.words() == ["osd dump", change, *retry_reads]  # nothing sent again
        assert ceph.osdmap() == applied
    finally:
        forget_clients()


def test_a_command_killed_by_a_signal_is_its_own_failure_not_a_dropped_connection(sshd):
    """The other way to get no exit status: the connection lives, the command's death is its
    answer (a CommandFailed when checked), and nothing is run again."""
    runner = sshd.runner()
    try:
        result = runner.run(["sh", "-c", "kill -9 $$"])
        assert result.status == -1 and not result.ok
        connection = runner._client
        assert runner.run(["echo", "same connection"]).stdout == "same connection\n"
        assert runner._client is connection
    finally:
        runner.close()
