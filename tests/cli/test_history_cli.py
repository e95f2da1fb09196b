"""``cephflow history`` through the real entry point: who did what (an action of the
operations is recorded as the OS user), as a table or JSON, narrowed by workflow, user, age
and count; and its table."""

from __future__ import annotations

import io
import json
import os
import pwd
import subprocess

import pytest
from rich.console import Console

from cephflow.cli.views.history_list import HistoryList
from cephflow.engine.state import HistoryAction, HistoryEntry
from cephflow.operations import workflows
from tests.engine.support import dag, node
from tests.fixtures.redis_server import NAMESPACE
from tests.paths import CEPHFLOW, REPO

pytestmark = pytest.mark.services


def cephflow(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CEPHFLOW_REDIS_URL=redis_url, CEPHFLOW_NAMESPACE=NAMESPACE,
               COLUMNS="200", NO_COLOR="1")
    return subprocess.run([CEPHFLOW, *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_history_shows_who_did_what_as_json_or_a_table(client, redis_url):
    me = pwd.getpwuid(os.geteuid()).pw_name
    first = client.submit(dag(node("a"), runbook="first"), user="alice")
    # waits for a fact no one sets: still there to cancel whether or not a worker runs it
    second = client.submit(dag(node("a", task="test.wait_fact", args={"key": "never"}),
                               runbook="second"), user="bob")
    workflows.cancel(client, second[:6])  # as `cephflow cancel` does: as the OS user

    shown = cephflow(redis_url, "history", "--json")
    assert shown.returncode == 0, shown.stderr
    entries = json.loads(shown.stdout)
    assert [(e["action"], e["user"], e["workflow"], e["runbook"]) for e in entries] == [
        ("submitted", "alice", first, "first"), ("submitted", "bob", second, "second"),
        ("cancelled", me, second, "second")]
    assert set(entries[0]) == {"id", "ts", "action", "user", "host", "workflow", "runbook",
                               "step", "detail"}

    narrowed = cephflow(redis_url, "history", second[:4], "--user", "bob", "--since", "10m",
                        "--limit", "5")
    assert narrowed.returncode == 0, narrowed.stderr
    lines = narrowed.stdout.splitlines()
    assert lines[0].split() == ["time", "(UTC)", "user", "action", "workflow", "runbook",
                                "step", "detail"]
    assert [line.split()[2:6] for line in lines[1:]] == [["bob", "submitted", second, "second"]]

    bad = cephflow(redis_url, "history", "--since", "yesterday")
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_the_table_says_when_nothing_matches_and_cuts_the_detail_last():
    entry = HistoryEntry(id="1-0", ts=0, action=HistoryAction.REJECTED, user="alice",
                         workflow="0123456789ab", runbook="drain-host", step="approve-drain",
                         detail="not during business hours " * 4)
    assert "no history matches" in _render(HistoryList([]), 80)
    text = _render(HistoryList([entry]), 100)
    assert "1970-01-01 00:00:00  alice  rejected  0123456789ab  drain-host  approve-drain" in text
    assert "not during" in text and "…" in text and max(map(len, text.splitlines())) <= 100


def _render(view: object, width: int) -> str:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(view)
    return console.export_text()
