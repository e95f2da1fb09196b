"""Re-run from a step (``resume(from_step=...)``) and retry one failed step (``retry``).

Each test runs real workflows on the real worker and checks, through what the test tasks
recorded, exactly which nodes ran again and which kept their last run.
"""

from __future__ import annotations

import json

import pytest

from cephflow.engine import keys
from cephflow.engine.layout import JOIN_PREFIX
from cephflow.engine.state import NodeState, WorkflowState
from cephflow.errors import InvalidTransition, StepNotFound
from cephflow.runbook.dag import FanOut, Late, StepRef
from tests.engine.recorded import recorded
from tests.engine.support import dag, node, order, runs, wait_node
from tests.fixtures.redis_server import NAMESPACE

pytestmark = pytest.mark.services


def fan_dag():
    """prep -> work[0..4] (a fan-out) -> s[0..4] (each after every work: a join) -> end;
    prep -> side; finally fin."""
    work = [node(f"work[{i}]", after=["prep"], step="work") for i in range(5)]
    ids = [n.id for n in work]
    stage = [node(f"s[{i}]", after=ids, step="s") for i in range(5)]
    return dag(node("prep"), *work, *stage, node("end", after=[n.id for n in stage]),
               node("side", after=["prep"]), node("fin", cleanup=True))


def started(client, wf: str) -> dict[str, float | None]:
    return {n.id: n.started_at for n in client.snapshot(wf).nodes.values()}


def test_resume_from_a_step_of_a_succeeded_workflow_reruns_it_and_what_follows(
        client, celery_worker):
    wf = client.submit(fan_dag(), user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert client.redis.hget(keys.WorkflowKeys(NAMESPACE, wf).deps, f"{JOIN_PREFIX}1") is not None
    before = started(client, wf)
    client.resume(wf, user="tester", from_step="work")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    again = {f"work[{i}]" for i in range(5)} | {f"s[{i}]" for i in range(5)} | {"end", "fin"}
    assert runs(client, wf) == {n: 2 if n in again else 1 for n in before}
    after = started(client, wf)
    assert {n for n in before if after[n] != before[n]} == again
    snap = client.snapshot(wf)
    assert all(n.state is NodeState.SUCCEEDED for n in snap.nodes.values())
    # the re-run part ran in dependency order: every work before any s, end last of the main
    rerun = order(client, wf)[len(before):]
    assert max(rerun.index(f"work[{i}]") for i in range(5)) < min(
        rerun.index(f"s[{i}]") for i in range(5))
    assert rerun[-2:] == ["end", "fin"]
    audit = client.audit(wf)
    assert audit["resumed_by"] == "tester" and audit["resumed_from"] == "work"
    assert audit["outcome"] == "succeeded"


def test_resume_from_one_member_reruns_it_and_what_waits_for_it_only(client, celery_worker):
    wf = client.submit(fan_dag(), user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    client.resume(wf, user="tester", from_step="work[3]")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    counts = runs(client, wf)
    assert {n for n, c in counts.items() if c == 2} == (
        {"work[3]", "end", "fin"} | {f"s[{i}]" for i in range(5)})


def test_resume_from_a_middle_step_of_a_failed_workflow(client, celery_worker):
    d = dag(node("a"), node("b", after=["a"]),
            node("c", task="test.fail", after=["b"], args={"fixed_by": "fixed"}),
            node("d", after=["c"]), node("x", after=["a"]), node("fin", cleanup=True))
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    first = runs(client, wf)
    client.set_fact(wf, "fixed", True)
    client.resume(wf, user="tester", from_step="b")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    counts = runs(client, wf)
    assert counts["a"] == 1 and counts["b"] == 2 and counts["c"] == 1 and counts["d"] == 1
    assert counts["x"] == first.get("x", 0) + (0 if "x" in first else 1)
    assert counts["fin"] == 2
    assert client.snapshot(wf).failed_node is None


def test_resume_from_a_step_sets_up_again_what_comes_before_it(client, celery_worker):
    d = dag(node("check"), node("set", task="test.setup", after=["check"], redo_on_resume=True),
            node("work", after=["set"]), node("after", after=["work"]),
            node("clear", cleanup=True))
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    client.resume(wf, user="tester", from_step="work")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert order(client, wf)[5:] == ["set", "work", "after", "clear"]
    assert runs(client, wf) == {"check": 1, "set": 2, "work": 2, "after": 2, "clear": 2}


def two_failures():
    """bad and slow each hold a worker slot until a fact; bad fails first, then slow (so
    both fail). down and other wait for bad, down2 for slow, last for down and down2."""
    return dag(
        node("bad", task="test.fail_on_fact", args={"key": "go1", "fixed_by": "fixed1"}),
        node("slow", task="test.fail_on_fact", args={"key": "go2", "fixed_by": "fixed2"}),
        node("down", after=["bad"]), node("other", after=["bad"]),
        node("down2", after=["slow"]), node("last", after=["down", "down2"]),
        node("fin", cleanup=True))


def failed_twice(client) -> str:
    wf = client.submit(two_failures(), user="tester")
    wait_node(client, wf, "bad", NodeState.RUNNING)
    wait_node(client, wf, "slow", NodeState.RUNNING)
    client.set_fact(wf, "go1", True)
    wait_node(client, wf, "bad", NodeState.FAILED)
    client.set_fact(wf, "go2", True)
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    snap = client.snapshot(wf)
    assert snap.nodes["slow"].state is NodeState.FAILED
    assert snap.failed_node == "bad"
    return wf


def test_retry_reruns_the_failed_step_and_what_it_stopped_and_leaves_another_failure(
        client, celery_worker):
    wf = failed_twice(client)
    client.set_fact(wf, "fixed1", True)
    client.retry(wf, "bad", user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    snap = client.snapshot(wf)
    states = {n.id: n.state for n in snap.nodes.values()}
    assert states == {"bad": NodeState.SUCCEEDED, "down": NodeState.SUCCEEDED,
                      "other": NodeState.SUCCEEDED, "slow": NodeState.FAILED,
                      "down2": NodeState.CANCELLED, "last": NodeState.CANCELLED,
                      "fin": NodeState.SUCCEEDED}
    assert snap.failed_node == "slow" and snap.error == "slow failed"
    assert runs(client, wf) == {"bad": 1, "down": 1, "other": 1, "fin": 2}
    audit = client.audit(wf)
    assert audit["retried_by"] == "tester" and audit["retried_step"] == "bad"
    assert audit["outcome"] == "failed" and audit["failed_node"] == "slow"
    # what the retry left failed, a resume runs again: the workflow can still succeed
    client.set_fact(wf, "fixed2", True)
    client.resume(wf, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert runs(client, wf) == {"bad": 1, "down": 1, "other": 1, "slow": 1, "down2": 1,
                                "last": 1, "fin": 3}


def test_retry_of_the_only_failure_lets_the_workflow_succeed(client, celery_worker):
    d = dag(node("a"), node("bad", task="test.fail", after=["a"], args={"fixed_by": "fixed"}),
            node("down", after=["bad"]), node("fin", cleanup=True))
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    client.set_fact(wf, "fixed", True)
    client.retry(wf, "bad", user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert runs(client, wf) == {"a": 1, "bad": 1, "down": 1, "fin": 2}


def unchanged(client, wf: str) -> tuple[object, ...]:
    wk = keys.WorkflowKeys(NAMESPACE, wf)
    return (client.redis.xlen(wk.events), client.redis.hgetall(wk.state),
            client.redis.hgetall(wk.meta), client.redis.hgetall(keys.audit(NAMESPACE, wf)))


def test_refusals_change_nothing(client, celery_worker):
    wf = failed_twice(client)
    before = unchanged(client, wf)
    with pytest.raises(StepNotFound) as unknown:
        client.resume(wf, user="tester", from_step="dwon")
    assert "has no step 'dwon'; its steps: bad, slow, down, other, down2, last" in str(
        unknown.value)
    assert unknown.value.hint == "did you mean 'down'?"
    with pytest.raises(StepNotFound):
        client.retry(wf, "nope", user="tester")
    with pytest.raises(StepNotFound, match="finally step"):
        client.resume(wf, user="tester", from_step="fin")
    with pytest.raises(InvalidTransition, match="step 'down' of workflow .* did not fail: "
                                                "it cancelled"):
        client.retry(wf, "down", user="tester")
    assert unchanged(client, wf) == before

    quick = client.submit(dag(node("a"), node("b", after=["a"])), user="tester")
    assert client.wait(quick, timeout=30) is WorkflowState.SUCCEEDED
    before = unchanged(client, quick)
    with pytest.raises(InvalidTransition, match="is succeeded: only a failed workflow"):
        client.retry(quick, "a", user="tester")
    with pytest.raises(InvalidTransition, match="has succeeded: only failed or cancelled"):
        client.resume(quick, user="tester")
    assert unchanged(client, quick) == before


def test_resume_from_a_step_of_a_running_workflow_is_refused(client, celery_worker):
    d = dag(node("a"), node("hold", task="test.wait_fact", args={"key": "go"}, after=["a"]))
    wf = client.submit(d, user="tester")
    wait_node(client, wf, "hold", NodeState.RUNNING)
    with pytest.raises(InvalidTransition, match="is running: only a failed, cancelled or "
                                                "succeeded workflow resumes from a step"):
        client.resume(wf, user="tester", from_step="a")
    with pytest.raises(InvalidTransition, match="is running: only a failed workflow"):
        client.retry(wf, "a", user="tester")
    assert runs(client, wf) == {"a": 1}
    client.set_fact(wf, "go", True)
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert runs(client, wf) == {"a": 1, "hold": 1}


def test_resume_from_before_a_runtime_fan_out_expands_it_anew(client, celery_worker):
    """The expander runs again: the members of its last run go (from every hash, the order
    and the fan-in), and it writes the members its new items give."""
    d = dag(
        node("discover", task="test.wait_fact", args={"key": "found"}),
        node("drain", task="test.record", after=["discover"],
             expand=FanOut(items="{{ steps.discover.output.value.osds }}", var="osd"),
             late=Late(reads={"discover": StepRef(nodes=["discover"])})),
        node("after", after=["drain"]),
    )
    wf = client.submit(d, user="tester")
    client.set_fact(wf, "found", {"osds": [1, 2, 3]})
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    old = {"drain[1]", "drain[2]", "drain[3]"}
    assert old <= set(client.snapshot(wf).nodes)
    client.set_fact(wf, "found", {"osds": [4, 5]})
    client.resume(wf, user="tester", from_step="discover")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    snap = client.snapshot(wf)
    assert set(snap.nodes) == {"discover", "drain", "after", "drain[4]", "drain[5]"}
    assert all(n.state is NodeState.SUCCEEDED for n in snap.nodes.values())
    wk = keys.WorkflowKeys(NAMESPACE, wf)
    for key in (wk.state, wk.spec, wk.deps, wk.parents, wk.children, wk.attempt, wk.started,
                wk.ended):
        assert not old & set(client.redis.hkeys(key)), key
    assert not old & set(client.redis.lrange(wk.order, 0, -1))
    assert runs(client, wf) == {"discover": 2, "drain[1]": 1, "drain[2]": 1, "drain[3]": 1,
                                "drain[4]": 1, "drain[5]": 1, "after": 2}
    # and once more from the fan-out step itself: same items, same member ids, written anew
    client.resume(wf, user="tester", from_step="drain")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    counts = runs(client, wf)
    assert counts["drain[4]"] == 2 and counts["drain[5]"] == 2 and counts["after"] == 3


def test_a_step_that_runs_again_starts_afresh_and_a_kept_one_keeps_its_markers(
        client, celery_worker):
    d = dag(node("a", task="test.once"), node("b", task="test.once", after=["a"]))
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    client.resume(wf, user="tester", from_step="b")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    seen = client.redis.lrange(recorded(NAMESPACE, wf, "once"), 0, -1)
    assert seen == ["a:1", "b:1", "b:1"]  # b's once marker went with its last run
    assert client.redis.sismember(keys.WorkflowKeys(NAMESPACE, wf).once, "a|done")


def test_a_node_that_lists_an_ended_join_among_its_parents_runs_on_resume(
        client, celery_worker):
    """Seeded by hand (as a layout may write it): b's parents list names a join, not a node.
    The join's parents all succeeded, so on resume it has ended and b runs."""
    d = dag(node("a"), node("b", task="test.fail", after=["a"], args={"fixed_by": "fixed"}))
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    wk = keys.WorkflowKeys(NAMESPACE, wf)
    join = f"{JOIN_PREFIX}direct"
    client.redis.hset(wk.edges, mapping={"t:a": json.dumps(["a"]), "t:j": json.dumps([join]),
                                         "t:b": json.dumps(["b"])})
    client.redis.hset(wk.joins, join, 1)
    client.redis.hset(wk.deps, join, 0)
    client.redis.hset(wk.parents, mapping={join: "t:a", "b": "t:j"})
    client.redis.hset(wk.children, mapping={join: "t:b", "a": "t:j"})
    client.set_fact(wf, "fixed", True)
    client.resume(wf, user="tester")
    assert client.wait(wf, timeout=20) is WorkflowState.SUCCEEDED
    assert runs(client, wf) == {"a": 1, "b": 1}
