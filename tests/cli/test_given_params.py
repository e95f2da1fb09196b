"""The params a run was given, as typed: kept from the command line into the workflow's
meta and shown by the header in place of every resolved param; a secret one never in clear."""

from __future__ import annotations

import os
import subprocess

import pytest

from cephflow.cli.views.header import WorkflowHeader
from cephflow.engine.state import WorkflowState
from cephflow.runbook.dag import REDACTED
from tests.cli.golden import render
from tests.engine.support import dag, node
from tests.fixtures.redis_server import NAMESPACE
from tests.paths import CEPHFLOW

pytestmark = pytest.mark.services

SECRET = "TOPSECRET-given-17"
RUNBOOK = """\
name: given-params
params:
  osds: {type: "list[int]", help: OSD ids}
  pause: {type: duration, default: 5s}
  level: {type: str, default: info}
  token: {secret: true}
steps:
  - id: a
    task: core.log
    with: {message: "{{ osds }} {{ pause }} {{ token }}", level: "{{ level }}"}
"""


def test_a_run_keeps_the_params_as_typed_and_the_header_shows_only_those(
        redis_url, celery_worker, client, tmp_path):
    book = tmp_path / "given-params.yaml"
    book.write_text(RUNBOOK)
    env = dict(os.environ, CEPHFLOW_REDIS_URL=redis_url, CEPHFLOW_NAMESPACE=NAMESPACE,
               CEPHFLOW_PARAM_TOKEN=SECRET)
    done = subprocess.run([CEPHFLOW, "run", str(book), "--osds", "3,1", "--pause", "1h30m",
                           "--quiet", "--detach"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    wf = done.stdout.strip()
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    snap = client.snapshot(wf)
    assert snap.given == {"osds": ["3", "1"], "pause": "1h30m", "token": REDACTED}
    assert snap.params["pause"] != "1h30m" and snap.params["level"] == "info"
    meta = client.redis.hgetall(client.workflow_keys(wf).meta)
    # only the mask list keeps the value (to hide it elsewhere); what views read never does
    assert SECRET not in str({k: v for k, v in meta.items() if k != "secrets"})
    [summary] = [s for s in client.list_workflows() if s.id == wf]
    assert summary.given == snap.given
    first = render(WorkflowHeader(snap, now=snap.ended_at or 0), width=120).splitlines()[0]
    assert first.endswith("·  osds=3,1 pause=1h30m token=" + REDACTED)
    assert "level" not in first


def test_the_engine_redacts_a_secret_given_param_whatever_the_caller_passes(client):
    compiled = dag(node("a"), params={"token": REDACTED, "host": "h1"})
    wf = client.submit(compiled, given={"token": SECRET, "host": "h1"})
    assert client.snapshot(wf).given == {"token": REDACTED, "host": "h1"}
    meta = client.redis.hgetall(client.workflow_keys(wf).meta)
    assert SECRET not in meta["given"]


def test_a_workflow_submitted_without_given_params_has_none(client):
    wf = client.submit(dag(node("a"), params={"host": "h1"}))
    assert client.snapshot(wf).given is None
    assert [s.given for s in client.list_workflows() if s.id == wf] == [None]
