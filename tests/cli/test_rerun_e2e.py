"""``cephflow resume ID --from STEP`` and ``cephflow retry ID STEP`` through the real entry point.

An operator types these after a failure (or to do a step again): what ran again is read from
the test tasks' records, the exit status from the process, and a refused command must leave
the workflow exactly as it was.
"""

from __future__ import annotations

import pytest

from cephflow.engine import keys
from cephflow.engine.state import NodeState, WorkflowState
from tests.cli.test_workflow_commands_e2e import cephflow
from tests.engine.support import dag, node, runs, wait_node
from tests.fixtures.redis_server import NAMESPACE

pytestmark = [pytest.mark.services, pytest.mark.slow]


def chain(fail: bool = False):
    return dag(node("a"),
               node("b", task="test.fail" if fail else "test.record", after=["a"],
                    args={"fixed_by": "fixed", "message": "disk on fire"} if fail else {}),
               node("c", after=["b"]), node("fin", cleanup=True), runbook="audit")


def as_it_is(client, wf: str) -> tuple[object, ...]:
    wk = keys.WorkflowKeys(NAMESPACE, wf)
    return (client.redis.xlen(wk.events), client.redis.hgetall(wk.state),
            client.redis.hgetall(wk.meta), client.redis.hgetall(keys.audit(NAMESPACE, wf)))


def test_resume_from_a_step_of_a_succeeded_workflow_reruns_it_and_what_follows(
        client, celery_worker, redis_url):
    wf = client.submit(chain(), user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    done = cephflow(["resume", wf[:8], "--from", "b", "--plain"], redis_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"workflow {wf} resumed from step b" in done.stdout
    assert "succeeded" in done.stdout.splitlines()[-1]
    assert runs(client, wf) == {"a": 1, "b": 2, "c": 2, "fin": 2}
    assert client.audit(wf)["resumed_from"] == "b"


def test_retry_of_the_failed_step_runs_it_and_what_it_stopped(client, celery_worker,
                                                               redis_url):
    wf = client.submit(chain(fail=True), user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    client.set_fact(wf, "fixed", True)
    done = cephflow(["retry", wf[:8], "b", "--plain"], redis_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"workflow {wf}: step b retried" in done.stdout
    assert runs(client, wf) == {"a": 1, "b": 1, "c": 1, "fin": 2}


def test_an_unknown_step_exits_2_naming_the_steps_and_changes_nothing(client, celery_worker,
                                                                      redis_url):
    wf = client.submit(chain(fail=True), user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    before = as_it_is(client, wf)
    for args in (["resume", wf[:8], "--from", "bb"], ["retry", wf[:8], "bb"]):
        refused = cephflow(args, redis_url)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert f"error: workflow {wf} has no step 'bb'; its steps: a, b, c" in refused.stderr
        assert "hint: did you mean 'b'?" in refused.stderr
    assert as_it_is(client, wf) == before


def test_retry_of_a_step_that_did_not_fail_exits_2_and_changes_nothing(client, celery_worker,
                                                                        redis_url):
    wf = client.submit(chain(fail=True), user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    before = as_it_is(client, wf)
    refused = cephflow(["retry", wf[:8], "a"], redis_url)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"step 'a' of workflow {wf} did not fail: it succeeded" in refused.stderr
    assert as_it_is(client, wf) == before


def test_resume_from_a_step_of_a_running_workflow_exits_2_and_changes_nothing(
        client, celery_worker, redis_url):
    d = dag(node("a"), node("hold", task="test.wait_fact", args={"key": "go"}, after=["a"]))
    wf = client.submit(d, user="tester")
    wait_node(client, wf, "hold", NodeState.RUNNING)
    state = client.redis.hgetall(keys.WorkflowKeys(NAMESPACE, wf).state)
    refused = cephflow(["resume", wf[:8], "--from", "a"], redis_url)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"workflow {wf} is running: only a failed, cancelled or succeeded workflow " \
           "resumes from a step" in refused.stderr
    assert client.redis.hgetall(keys.WorkflowKeys(NAMESPACE, wf).state) == state
    assert "resumed_by" not in client.audit(wf)
    client.set_fact(wf, "go", True)
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert runs(client, wf) == {"a": 1, "hold": 1}
