"""Downtime, notifications and approval gates in real workflows: a real redis-server, a
real Celery worker configured (TOML file) with a real Alertmanager, a real SMTP server
(STARTTLS + auth), a real webhook receiver and a real HTTP downtime backend.

The worker uses its own namespace, so its queue is not shared with the engine tests' worker.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cephflow.engine import keys
from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import WorkflowState
from cephflow.errors import InvalidTransition
from cephflow.runbook.dag import Dag, Node
from tests.fixtures.alertmanager import AlertmanagerServer
from tests.fixtures.celery_worker import CeleryWorker, worker_with_client
from tests.fixtures.http_server import RecordingServer
from tests.fixtures.redis_server import RedisServer
from tests.fixtures.services import wait_until
from tests.fixtures.smtp_server import SmtpServer, start_smtp
from tests.paths import CEPHFLOW

pytestmark = [pytest.mark.services, pytest.mark.slow]

NAMESPACE = "cfpeople"
ME = pwd.getpwuid(os.getuid()).pw_name

SMTP_PW = "smtp-Wf-Secret-1357"
HOOK_SECRET = "T00/B00/hook-Wf-Secret-2468"
HOOK_TOKEN = "hook-Wf-Bearer-9753"
AM_PW = "am-Wf-Secret-8642"
DT_TOKEN = "dt-Wf-Bearer-1928"
SECRETS = [SMTP_PW, "hook-Wf-Secret-2468", HOOK_TOKEN, AM_PW, DT_TOKEN]


@dataclass
class People:
    redis: RedisServer
    worker: CeleryWorker
    client: WorkflowClient
    alertmanager: AlertmanagerServer
    smtp: SmtpServer
    hook: RecordingServer
    dt: RecordingServer
    config: Path

    def cli(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``cephflow ...`` in a second process, as an operator would."""
        env = dict(os.environ, CEPHFLOW_REDIS_URL=self.redis.url, CEPHFLOW_NAMESPACE=NAMESPACE,
                   CEPHFLOW_CONFIG=str(self.config), COLUMNS="200", NO_COLOR="1")
        done = subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=60)
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done


def _toml(sections: dict[str, dict[str, object]]) -> str:
    """A small TOML writer (JSON strings and lists are valid TOML values)."""
    lines = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
        lines.append("")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def people(tmp_path_factory, redis_server, alertmanager) -> Iterator[People]:
    base = tmp_path_factory.mktemp("people")
    smtp = start_smtp(base, tls=True, user=("tech", SMTP_PW))
    hook, dt = RecordingServer(), RecordingServer()
    config = base / "config.toml"
    config.write_text("poll_countdown = 0.3\n\n" + _toml({
        "alertmanager": {"urls": [alertmanager.url], "username": "cephflow", "password": AM_PW,
                         "attempts": 2, "backoff": 0.05},
        "http_downtime": {"set_url": dt.url + "/downtimes", "clear_url": dt.url + "/downtimes/{{ id }}",
                          "token": DT_TOKEN, "attempts": 2, "backoff": 0.05},
        "smtp": {"host": smtp.host, "port": smtp.port, "starttls": True,
                 "ca_file": str(smtp.ca_file), "username": "tech", "password": SMTP_PW,
                 "sender": "cephflow@lab", "recipients": ["dc@lab"], "backoff": 0.05},
        "webhook": {"url": f"{hook.url}/hooks/{HOOK_SECRET}", "token": HOOK_TOKEN,
                    "style": "slack", "backoff": 0.05},
    }))
    try:
        with worker_with_client(redis_server, base, namespace=NAMESPACE, name="people",
                                env={"CEPHFLOW_CONFIG": str(config)}) as (worker, client):
            yield People(redis_server, worker, client, alertmanager, smtp, hook, dt, config)
    finally:
        smtp.stop()
        hook.stop()
        dt.stop()


def maintenance(gate_args: dict | None = None, *, gate_timeout: float | None = 60,
                middle: list[Node] | None = None) -> Dag:
    """Silence, tell the DC, wait at a gate, [middle], and always lift the silence."""
    nodes = [
        Node(id="silence", step="silence", task="downtime.set",
             args={"matchers": ['instance=~"ceph-osd-17.*"', 'ceph_daemon="osd.41"'],
                   "duration": "1h", "comment": "replace osd.41", "host": "ceph-osd-17"}),
        Node(id="tell-dc", step="tell-dc", task="notify.dc", after=["silence"],
             args={"host": "ceph-osd-17", "osd": 41, "device": "/dev/sdk", "serial": "ZA1B2C3D",
                   "slot": "bay 7", "action": "Replace the disk in bay 7.",
                   "confirm_step": "disk-replaced"}),
        Node(id="disk-replaced", step="disk-replaced", task="core.approval", after=["tell-dc"],
             args={"message": "Has the disk in bay 7 been replaced?", **(gate_args or {})},
             timeout=gate_timeout),
        *(middle or []),
        Node(id="unsilence", step="unsilence", task="downtime.clear", cleanup=True),
    ]
    return Dag(runbook="people-test", source="tests", nodes=nodes)


def _silences_while_waiting(p: People, wf: str) -> list[dict]:
    """Wait until the gate waits, then return the downtime's handles (both backends)."""
    def handles():
        record = p.client.get_fact(wf, "downtime:default")
        return record["handles"] if record and len(record["handles"]) == 2 else None

    found = wait_until(handles, timeout=30, what="downtime set on both backends")
    wait_until(lambda: p.client.snapshot(wf).nodes["disk-replaced"].attempt >= 1, timeout=30,
               what="the gate to open")
    return found


def _mail_for(p: People, wf: str, subject_part: str):
    def found():
        return [m for m in p.smtp.received
                if wf in m.message.get_content() and subject_part in m.message["Subject"]]
    return wait_until(found, timeout=30, what=f"email {subject_part!r} for {wf}")


def _assert_lifted(p: People, wf: str, handles: list[dict]) -> None:
    am = next(h for h in handles if h["backend"] == "alertmanager")
    http = next(h for h in handles if h["backend"] == "http")
    assert p.alertmanager.state(am["id"]) == "expired"
    assert any(r.method == "DELETE" and r.path == f"/downtimes/{http['id']}"
               for r in p.dt.received)
    assert p.client.get_fact(wf, "downtime:default")["cleared"] is True
    assert p.client.snapshot(wf).nodes["unsilence"].state.value == "succeeded"


def _submit(p: People, dag: Dag) -> str:
    p.dt.respond("POST", {"id": f"dt-{time.monotonic_ns()}"})
    return p.client.submit(dag, user=ME)


def test_success_silence_active_while_running_gate_notifies_and_is_approved_from_cli(people):
    p = people
    wf = _submit(p, maintenance({"approvers": [ME], "to": ["dc@lab", "oncall@lab"]}))
    handles = _silences_while_waiting(p, wf)
    am = next(h for h in handles if h["backend"] == "alertmanager")
    assert p.alertmanager.state(am["id"]) == "active"
    assert wf in p.alertmanager.silence(am["id"])["comment"]

    # the technicians' email names the disk and the command that confirms
    [dc] = _mail_for(p, wf, "osd.41")
    body = dc.message.get_content()
    for fact in ("ceph-osd-17", "/dev/sdk", "ZA1B2C3D", "bay 7", "Replace the disk in bay 7.",
                 f"cephflow approve {wf} disk-replaced"):
        assert fact in body
    # the gate's own announcement carries the exact command; typed in a second process. It
    # goes only to whom the technicians' message did not reach (their email told them)
    [gate_mail] = _mail_for(p, wf, "approval needed")
    assert gate_mail.rcpt_tos == ["oncall@lab"]
    line = next(ln for ln in gate_mail.message.get_content().splitlines()
                if ln.startswith("To approve:"))
    argv = shlex.split(line.removeprefix("To approve:"))
    assert argv == ["cephflow", "approve", wf, "disk-replaced"]
    assert p.client.state(wf) is WorkflowState.RUNNING
    p.cli(CEPHFLOW, *argv[1:])

    assert p.client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
    _assert_lifted(p, wf, handles)
    gate = p.client.snapshot(wf).nodes["disk-replaced"]
    assert gate.state.value == "succeeded"
    # every message went out once; the webhook carried the technicians' message only
    assert len([m for m in p.smtp.received if wf in m.message.get_content()]) == 2
    assert len([r for r in p.hook.received if wf in r.body.decode()]) == 1


def test_failure_lifts_the_silence(people):
    p = people
    wf = _submit(p, maintenance())
    handles = _silences_while_waiting(p, wf)
    assert p.alertmanager.state(handles[0]["id"]) == "active"
    p.cli(CEPHFLOW, "reject", wf, "disk-replaced", "--reason", "wrong disk pulled")
    assert p.client.wait(wf, timeout=60) is WorkflowState.FAILED
    snap = p.client.snapshot(wf)
    assert snap.failed_node == "disk-replaced" and "wrong disk pulled" in (snap.error or "")
    _assert_lifted(p, wf, handles)


def test_cancel_lifts_the_silence(people):
    p = people
    wf = _submit(p, maintenance())
    handles = _silences_while_waiting(p, wf)
    assert p.alertmanager.state(handles[0]["id"]) == "active"
    p.cli(CEPHFLOW, "cancel", wf)
    assert p.client.wait(wf, timeout=60) is WorkflowState.CANCELLED
    _assert_lifted(p, wf, handles)


def test_gate_that_times_out_fails_and_runs_the_cleanup(people):
    p = people
    wf = _submit(p, maintenance(gate_timeout=3))
    handles = _silences_while_waiting(p, wf)
    assert p.client.wait(wf, timeout=60) is WorkflowState.FAILED
    snap = p.client.snapshot(wf)
    assert snap.failed_node == "disk-replaced"
    assert "timed out" in (snap.error or "") or "timeout" in (snap.error or "")
    _assert_lifted(p, wf, handles)


def test_approval_by_someone_who_may_not_approve_is_refused(people):
    p = people
    wf = _submit(p, maintenance({"approvers": ["dc-lead", "@no-such-group-x"]}))
    _silences_while_waiting(p, wf)
    refused = p.cli(CEPHFLOW, "approve", wf, "disk-replaced", check=False)
    assert refused.returncode != 0
    assert f"{ME} may not decide" in refused.stdout + refused.stderr
    with pytest.raises(InvalidTransition, match="may not decide"):
        p.client.approve(wf, "disk-replaced", user="mallory")
    assert p.client.get_fact(wf, "approval:disk-replaced") is None
    assert p.client.state(wf) is WorkflowState.RUNNING
    p.client.approve(wf, "disk-replaced", user="dc-lead")
    assert p.client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED


def test_workflow_with_secrets_shows_none_of_them(people):
    p = people
    p.hook.fail_next(6, status=403)  # the webhook refuses: its error is recorded on the step
    wf = _submit(p, maintenance({"approvers": [ME]}))
    _silences_while_waiting(p, wf)
    p.cli(CEPHFLOW, "approve", wf, "disk-replaced")
    assert p.client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
    snap = p.client.snapshot(wf)

    outputs = [
        snap.model_dump_json(),
        json.dumps([e.model_dump(mode="json") for e in p.client.events(wf, count=10_000)]),
        json.dumps(p.client.audit(wf)),
        json.dumps(p.client.redis.hgetall(keys.WorkflowKeys(NAMESPACE, wf).facts)),
        p.cli(CEPHFLOW, "status", wf, "--plain").stdout,
        p.cli(CEPHFLOW, "status", wf, "--json").stdout,
        p.cli(CEPHFLOW, "status", wf, "--step", "tell-dc").stdout,
        p.cli(CEPHFLOW, "status").stdout,
        p.worker.output(),
    ]
    # every key the engine keeps for this workflow (memos, once markers, results, ...)
    for key in p.client.redis.scan_iter(match=f"{NAMESPACE}:*{wf}*"):
        kind = p.client.redis.type(key)
        if kind == "hash":
            outputs.append(json.dumps(p.client.redis.hgetall(key)))
        elif kind == "set":
            outputs.append(json.dumps(sorted(p.client.redis.smembers(key))))
        elif kind == "string":
            outputs.append(p.client.redis.get(key) or "")
    joined = "\n".join(outputs)
    assert "webhook" in joined and "403" in joined  # the refusal is shown, its URL is not
    for secret in SECRETS:
        assert secret not in joined, secret


RUNBOOK = """\
name: people-runbook
description: Silence, tell the DC, wait for the technician, always lift the silence.
params:
  host: {type: str, default: ceph-osd-17}
  osd: {type: int, default: 41}
steps:
  - id: silence
    task: downtime.set
    with:
      matchers: ['instance=~"{{ host }}.*"', 'ceph_daemon="osd.{{ osd }}"']
      duration: 1h
      comment: "replace osd.{{ osd }} on {{ host }}"
      host: "{{ host }}"
  - id: tell-dc
    task: notify.dc
    after: silence
    with:
      host: "{{ host }}"
      osd: "{{ osd }}"
      serial: ZA1B2C3D
      slot: bay 7
      action: "Replace osd.{{ osd }}."
      confirm_step: approve-replaced
      subject: "{% raw %}Swap {{ serial }} on {{ host }}{% endraw %}"
      template: "{% raw %}Swap {{ serial }} in {{ slot }}. {{ confirm }}{% endraw %}"
  - id: replaced
    task: core.log
    after: tell-dc
    approval:
      message: "Disk in bay 7 of {{ host }} replaced?"
      approvers: [APPROVER]
      timeout: 2m
    with:
      message: "osd.{{ osd }} replaced"
finally:
  - id: unsilence
    task: downtime.clear
"""


def test_runbook_with_downtime_notify_and_gate_compiles_and_runs(people, tmp_path):
    from cephflow.runbook.compiler import compile_runbook
    from cephflow.tasks import load_all

    load_all()
    p = people
    path = tmp_path / "people-runbook.yaml"
    path.write_text(RUNBOOK.replace("APPROVER", ME))
    dag = compile_runbook(path, {"host": "ceph-osd-17"})
    gate = dag.node("approve-replaced")
    assert gate.task == "core.approval" and gate.args["approvers"] == [ME]
    assert dag.node("tell-dc").args["template"] == "Swap {{ serial }} in {{ slot }}. {{ confirm }}"

    wf = _submit(p, dag)
    [mail] = _mail_for(p, wf, "Swap ZA1B2C3D on ceph-osd-17")
    assert mail.message.get_content().strip() == (
        f"Swap ZA1B2C3D in bay 7. When done, run: cephflow approve {wf} approve-replaced")
    record = wait_until(lambda: p.client.get_fact(wf, "downtime:default"), timeout=30,
                        what="the downtime fact")
    am = next(h for h in record["handles"] if h["backend"] == "alertmanager")
    assert p.alertmanager.state(am["id"]) == "active"
    p.cli(CEPHFLOW, "approve", wf, "approve-replaced")
    assert p.client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
    assert p.alertmanager.state(am["id"]) == "expired"


def test_unreachable_alertmanager_fails_the_step_clearly_after_its_retries(
    redis_server, tmp_path
):
    from cephflow.runbook.dag import RetryPolicy
    from tests.fixtures.services import free_port

    namespace = "cfpeople-dead"
    dead = f"http://127.0.0.1:{free_port()}"
    config = tmp_path / "config.toml"
    config.write_text(_toml({"alertmanager": {"urls": [dead], "attempts": 3, "backoff": 0.05}}))
    with worker_with_client(redis_server, tmp_path, namespace=namespace, name="dead-am",
                            env={"CEPHFLOW_CONFIG": str(config)}) as (_, client):
        dag = Dag(runbook="people-dead", source="tests", nodes=[
            Node(id="silence", step="silence", task="downtime.set",
                 args={"matchers": ['instance="ceph-osd-17"']},
                 retry=RetryPolicy(attempts=2, backoff=0.1)),
            Node(id="work", step="work", task="core.log", after=["silence"],
                 args={"message": "never runs"}),
            Node(id="unsilence", step="unsilence", task="downtime.clear", cleanup=True),
        ])
        wf = client.submit(dag, user=ME)
        assert client.wait(wf, timeout=60) is WorkflowState.FAILED
        snap = client.snapshot(wf)
        assert snap.failed_node == "silence"
        assert snap.nodes["silence"].attempt == 2  # the step's own retry, each with 3 tries
        error = snap.nodes["silence"].error or ""
        assert f"alertmanager {dead}" in error and "after 3 tries" in error, error
        assert "ConnectError" in error
        assert snap.nodes["work"].state.value != "succeeded"
        assert snap.nodes["unsilence"].state.value == "succeeded"  # nothing to lift, no error
