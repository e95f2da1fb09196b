"""Audit of "secrets are never printed" for a runbook param marked ``secret: true``.

The plan shows such an argument as ``**********``; the same workflow's status must not show it
in clear either (its JSON, one step in full, the listing, the followed lines).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import WorkflowState
from cephflow.runbook.compiler import compile_runbook
from cephflow.settings import Settings
from cephflow.tasks import load_all
from tests.fixtures.redis_server import NAMESPACE
from tests.paths import CEPHFLOW

pytestmark = pytest.mark.services

SECRET = "TOPSECRET-audit-44"
RUNBOOK = """\
name: with-secret
params:
  token: {secret: true, help: an API token}
steps:
  - id: a
    task: core.log
    with: {message: hello, level: "{{ token }}"}
"""


def run_cli(redis_url: str, *argv: str) -> str:
    env = dict(os.environ, CEPHFLOW_REDIS_URL=redis_url, CEPHFLOW_NAMESPACE=NAMESPACE,
               COLUMNS="200", NO_COLOR="1")
    done = subprocess.run([CEPHFLOW, *argv], env=env, capture_output=True, text=True,
                          timeout=60)
    return done.stdout + done.stderr


@pytest.fixture
def finished(redis_url, celery_worker, tmp_path):
    load_all()
    book = tmp_path / "with-secret.yaml"
    book.write_text(RUNBOOK)
    dag = compile_runbook(book, {"token": SECRET})
    assert dag.node("a").secret_args == ["level"]
    assert SECRET not in dag.redacted().to_json()
    client = WorkflowClient(Settings(redis_url=redis_url, namespace=NAMESPACE))
    wf = client.submit(dag)
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    yield wf, book
    client.close()


def test_plan_listing_and_followed_lines_hide_a_secret_param(finished, redis_url):
    wf, book = finished
    for argv in (["plan", str(book), "--token", SECRET], ["status"], ["status", wf, "--plain"]):
        out = run_cli(redis_url, *argv)
        assert SECRET not in out, argv


def test_status_json_and_step_hide_a_secret_argument(finished, redis_url):
    wf, _ = finished
    for argv in (["status", wf, "--json"], ["status", wf, "--step", "a"]):
        out = run_cli(redis_url, *argv)
        assert "hello" in out or wf in out, out
        assert SECRET not in out, argv
