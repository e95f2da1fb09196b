"""A secret param's value shows nowhere: not in the CLI, the JSON, events, facts or the log.

A real worker runs a runbook whose ``secret: true`` param is rendered into a progress line,
a fact, a retried error, a final error, a result and a log line, and into a webhook message.
Then every output channel is searched for the value (raw, as JSON escapes it, and for a
distinctive piece of it): the ``status`` command piped, with ``--step`` and with ``--json``,
the live tree's view of the snapshot, the event stream, the snapshot, the facts, the stored
results and the worker's log. The webhook must still receive it: what a task sends on
purpose is not masked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from cephflow.cli.views.tree import WorkflowTree
from cephflow.engine.state import WorkflowState
from cephflow.masking import MASK
from cephflow.runbook.compiler import compile_runbook
from cephflow.tasks import load_all
from tests.fixtures.celery_worker import worker_with_client

pytestmark = [pytest.mark.services, pytest.mark.slow]

CEPHFLOW = Path(sys.executable).with_name("cephflow")
NAMESPACE = "cftest-secrets"
SECRET = 'sk-QZXWv9"p\\7'
"""The secret, with a quote and a backslash so that JSON text holds it escaped."""
PIECE = "QZXWv9"
"""A piece of it no escaping changes: a leak of any form contains it."""

RUNBOOK = """\
name: secret-use
params:
  token: {type: str, secret: true}
steps:
  - id: say
    task: core.log
    with: {message: "logging in with {{ token }}"}
  - id: keep
    task: test.fact
    after: [say]
    retry: {attempts: 2, backoff: 0.1}
    with: {key: login, value: "token={{ token }}"}
  - id: tell
    task: notify.send
    after: [keep]
    with: {subject: "key", text: "the new key is {{ token }}", channels: [webhook]}
  - id: refuse
    task: core.fail
    after: [tell]
    with: {message: "server refused {{ token }}"}
"""


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def _assert_masked(where: str, text: str, *shown: str) -> None:
    assert PIECE not in text and SECRET not in text, f"the secret leaked into {where}: {text}"
    for expected in shown:
        assert expected in text, f"{where} lacks {expected!r}: {text}"


def _cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([str(CEPHFLOW), *args], env=env, capture_output=True, text=True,
                          timeout=60)
    return done.stdout + done.stderr


def test_a_secret_param_is_masked_in_every_output(redis_server, http_server, tmp_path):
    load_all()
    import tests.engine.tasks  # noqa: F401 - registers test.fact for the compiler
    http_server.respond("POST", {"ok": True})
    path = tmp_path / "secret-use.yaml"
    path.write_text(RUNBOOK)
    dag = compile_runbook(path, {"token": SECRET}, search_path=[tmp_path])
    assert dag.secrets == [SECRET]
    env = {"CEPHFLOW_WEBHOOK__URL": http_server.url + "/hook"}
    with worker_with_client(redis_server, tmp_path, namespace=NAMESPACE, name="secrets",
                            env=env) as (worker, client):
        wf = client.submit(dag)
        assert client.wait(wf, timeout=60) is WorkflowState.FAILED

        # what the task sent on purpose went out in clear
        [hook] = http_server.wait_for(1)
        assert any(SECRET in s for s in _strings(hook.json()))

        snapshot = client.snapshot(wf)
        assert snapshot.failed_node == "refuse"
        _assert_masked("the snapshot", snapshot.model_dump_json(),
                       f"logging in with {MASK}", f"kept token={MASK}",
                       f"server refused {MASK}")
        events = client.events(wf)
        _assert_masked("the events", json.dumps([e.model_dump(mode="json") for e in events]),
                       f"first try refuses token={MASK}", f"kept token={MASK}")
        stored = client.redis.hgetall(client.workflow_keys(wf).facts)
        _assert_masked("the facts", json.dumps(stored), f"token={MASK}")
        results = client.redis.hgetall(client.workflow_keys(wf).result)
        _assert_masked("the results", json.dumps(results), f"logging in with {MASK}",
                       f"token={MASK}")
        raw_events = client.redis.xrange(client.workflow_keys(wf).events)
        _assert_masked("the stored events", json.dumps(raw_events), f"server refused {MASK}")

        console = Console(record=True, width=120, color_system=None)
        console.print(WorkflowTree(snapshot, now=snapshot.ended_at or 0))
        _assert_masked("the live tree", console.export_text(), MASK)

        cli_env = dict(os.environ, CEPHFLOW_REDIS_URL=redis_server.url,
                       CEPHFLOW_NAMESPACE=NAMESPACE, HOME=str(tmp_path),
                       CEPHFLOW_STATE_DIR=str(tmp_path / "state"))
        for args, shown in (
            (["status", wf, "--step", "say"], [f"logging in with {MASK}"]),
            (["status", wf, "--step", "keep"], [f"kept token={MASK}"]),
            (["status", wf, "--step", "refuse"], [f"server refused {MASK}"]),
            (["status", wf, "--json"], [f"server refused {MASK}"]),
            (["status", wf, "--step", "keep", "--json"], [f"kept token={MASK}"]),
            (["status", wf], [f"server refused {MASK}"]),  # piped: the plain follower
            (["status"], [wf[:6]]),
        ):
            _assert_masked(f"cephflow {' '.join(args)}", _cli(args, cli_env), *shown)

        _assert_masked("the worker's log", worker.output(), f"logging in with {MASK}",
                       f"first try refuses token={MASK}", f"server refused {MASK}")
