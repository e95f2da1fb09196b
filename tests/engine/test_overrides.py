"""``Settings.runbook_overrides``: a runbook's steps see their overrides, other runbooks don't."""

from __future__ import annotations

import json

import pytest

from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import NodeState, WorkflowState
from cephflow.errors import ConfigError
from cephflow.settings import Settings
from tests.engine.recorded import recorded
from tests.engine.support import dag, node
from tests.fixtures.celery_worker import LEASE_SECONDS, worker_with_client

pytestmark = pytest.mark.services
NS = "cfovr"
OVERRIDES = {
    "replace-disk": {"smtp": {"sender": "dc-ops@example.org"}, "poll_countdown": "0.5"},
    "broken": {"smtp": {"port": "not a port"}},
}


@pytest.fixture
def overridden(redis_server, tmp_path):
    """A worker (own namespace, so no other worker takes its messages) with overrides set."""
    env = {"CEPHFLOW_RUNBOOK_OVERRIDES": json.dumps(OVERRIDES),
           "CEPHFLOW_SMTP__HOST": "mail.example.org"}
    with worker_with_client(redis_server, tmp_path, namespace=NS, name="ovr", env=env,
                            lease_seconds=LEASE_SECONDS) as (_, client):
        yield client


def seen(client: WorkflowClient, wf: str) -> dict:
    return {k: json.loads(v)
            for k, v in client.redis.hgetall(recorded(NS, wf, "settings")).items()}


def test_a_runbooks_steps_see_its_overrides_merged_into_the_settings(overridden):
    client = overridden
    ours = client.submit(dag(node("s", task="test.settings"), runbook="replace-disk"), user="t")
    other = client.submit(dag(node("s", task="test.settings"), runbook="drain-host"), user="t")
    for wf in (ours, other):
        assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    # the override changes the sender only; the section's other settings stay as configured
    assert seen(client, ours) == {"s": {"sender": "dc-ops@example.org", "poll_countdown": 0.5,
                                        "smtp_host": "mail.example.org"}}
    assert seen(client, other) == {"s": {"sender": "cephflow@localhost", "poll_countdown": 0.2,
                                         "smtp_host": "mail.example.org"}}


def test_an_invalid_override_fails_the_step_with_its_reason(overridden):
    client = overridden
    wf = client.submit(dag(node("s", task="test.settings"), runbook="broken"), user="t")
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    step = client.snapshot(wf).nodes["s"]
    assert step.state is NodeState.FAILED and "runbook_overrides.broken.smtp" in step.error
    assert seen(client, wf) == {}


def test_overrides_name_only_existing_settings():
    settings = Settings(runbook_overrides={"rb": {"smpt": {"sender": "x@y"}}})
    with pytest.raises(ConfigError, match="no setting 'smpt'"):
        settings.for_runbook("rb")
    assert Settings().for_runbook("rb").smtp == Settings().smtp
