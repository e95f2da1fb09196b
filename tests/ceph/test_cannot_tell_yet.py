"""Ceph's EAGAIN to a safety question is neither a yes nor a no: steps wait or retry.

Right after a mgr restart the PG stats are not in yet, and ``osd safe-to-destroy`` /
``osd ok-to-stop`` exit 11 with "N pgs have unknown state; cannot draw any conclusions".
A waiting step asks again and says why; a one-shot step is left to its retry policy; a
destructive step does nothing. None of them fails the workflow as if Ceph had said no.
"""

from __future__ import annotations

import errno
import json

import pytest

from cephflow.ceph.client import CephClient
from cephflow.ceph.command_runner import CommandResult
from cephflow.engine.context import MemoryBackend, NotYet, StepContext
from cephflow.errors import CannotTellYet, StepFailed
from cephflow.tasks.ceph import common, osd, wait

UNKNOWN = "14 pgs have unknown state; cannot draw any conclusions"
DUMP = {"epoch": 7, "osds": [{"osd": 0, "up": 0, "in": 0}]}


class Unsure:
    """A cluster whose mgr has no PG stats yet: safety questions get EAGAIN, until ``sure``."""

    name = "unsure"

    def __init__(self) -> None:
        self.sure = False
        self.changes: list[str] = []

    def execute(self, command, *, timeout=None):
        words = " ".join(command.words)
        if not command.readonly:
            self.changes.append(words)
            return CommandResult(("ceph",), 0, "", "")
        if words.startswith(("osd safe-to-destroy", "osd ok-to-stop")) and not self.sure:
            return CommandResult(("ceph",), errno.EAGAIN, "", f"Error EAGAIN: {UNKNOWN}")
        if words.startswith("osd safe-to-destroy"):
            return CommandResult(("ceph",), 0, json.dumps(
                {"safe_to_destroy": [0], "active": [], "missing_stats": [], "stored_pgs": []}), "")
        if words.startswith("osd ok-to-stop"):
            return CommandResult(("ceph",), 0, json.dumps(
                {"ok_to_stop": True, "osds": [0], "num_ok_pgs": 3, "num_not_ok_pgs": 0}), "")
        return CommandResult(("ceph",), 0, json.dumps(DUMP), "")


@pytest.fixture
def cluster(monkeypatch) -> Unsure:
    backend = Unsure()
    client = CephClient(backend)
    monkeypatch.setattr(common, "client_for", lambda settings: client)
    return backend


def test_the_client_names_eagain_as_cannot_tell_yet_with_cephs_words(cluster):
    client = CephClient(cluster)
    for ask in (lambda: client.safe_to_destroy([0]), lambda: client.ok_to_stop([0])):
        with pytest.raises(CannotTellYet, match=f"Ceph cannot tell yet: Error EAGAIN: {UNKNOWN}"):
            ask()


def test_a_waiting_step_waits_and_says_why_then_goes_on_once_ceph_can_tell(cluster):
    memos = MemoryBackend()
    with pytest.raises(NotYet) as waiting:
        wait.wait_safe_to_destroy(StepContext("wf", "safe", memos), osds=[0])
    assert waiting.value.detail == f"waiting: Ceph cannot tell yet: Error EAGAIN: {UNKNOWN}"
    cluster.sure = True
    assert wait.wait_safe_to_destroy(StepContext("wf", "safe", memos), osds=[0]) == {
        "osds": [0], "safe": True}


def test_a_one_shot_check_is_retried_not_failed(cluster):
    with pytest.raises(CannotTellYet) as raised:
        wait.ok_to_stop(StepContext("wf", "ok", MemoryBackend()), osds=[0])
    assert not isinstance(raised.value, StepFailed)  # StepFailed would skip the retry policy


def test_a_destroy_changes_nothing_while_ceph_cannot_tell(cluster):
    with pytest.raises(CannotTellYet):
        osd.destroy_osd(StepContext("wf", "destroy", MemoryBackend()), osd=0)
    assert cluster.changes == []
    cluster.sure = True
    assert osd.destroy_osd(StepContext("wf", "destroy", MemoryBackend()), osd=0)["destroyed"]
    assert cluster.changes == ["osd destroy osd.0 --yes-i-really-mean-it"]
