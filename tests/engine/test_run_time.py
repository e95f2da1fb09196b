"""Run-time decisions in the engine: outputs read by later steps, ``if:``, ``needs``, and
runtime fan-outs, each with a real worker and Redis (``engine/late.py``, ``lua/expand.lua``).

The DAGs are built by hand with the fields the compiler writes (``Node.late``,
``Node.expand``): what the compiler writes is tested in tests/runbook.
"""

from __future__ import annotations

import json

import pytest

from cephflow.engine import keys
from cephflow.engine.state import NodeState, WorkflowState
from cephflow.runbook.dag import FanOut, Late, StepRef
from tests.engine.recorded import recorded
from tests.engine.support import dag, node, runs
from tests.fixtures.redis_server import NAMESPACE

pytestmark = pytest.mark.services


def echo(id: str, value: object, after: list[str] | None = None, **kw):
    return node(id, task="test.output", after=after, args={"value": value}, **kw)


def reads(**steps: list[str] | tuple[list[str], bool]) -> dict[str, StepRef]:
    return {name: StepRef(nodes=ids[0], fanout=ids[1]) if isinstance(ids, tuple)
            else StepRef(nodes=ids) for name, ids in steps.items()}


def got(client, wf: str) -> dict[str, object]:
    """The value each test.output node received, by node."""
    raw = client.redis.hgetall(recorded(NAMESPACE, wf, "args"))
    return {k: json.loads(v) for k, v in raw.items()}


def output_of(client, wf: str, node_id: str) -> object:
    text = client.redis.hget(keys.WorkflowKeys(NAMESPACE, wf).result, node_id)
    return json.loads(text) if text else None


def test_a_step_reads_an_earlier_output_rendered_when_it_is_ready(client, celery_worker):
    d = dag(
        echo("facts", {"device": "/dev/sdc", "slot": 4}),
        echo("use", None, after=["facts"], late=Late(
            args={"value": {"dev": "{{ steps.facts.output.device }}",
                            "slot": "{{ steps.facts.output.slot + offset }}"}},
            reads=reads(facts=["facts"]), vars={"offset": 10})),
    )
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert got(client, wf)["use"] == {"dev": "/dev/sdc", "slot": 14}
    assert output_of(client, wf, "facts") == {"device": "/dev/sdc", "slot": 4}
    assert output_of(client, wf, "use") == {"dev": "/dev/sdc", "slot": 14}


def test_if_false_skips_with_the_reason_and_what_follows_still_runs(client, celery_worker):
    d = dag(
        echo("state", {"up": False, "in": False}),
        echo("drain", {}, after=["state"], late=Late(
            condition="{{ steps.state.output.in }}", condition_text="steps.state.output.in",
            reads=reads(state=["state"]))),
        echo("destroy", {}, after=["drain"]),
        echo("refill", {}, after=["drain"], late=Late(needs=["drain"],
                                                      reads=reads(drain=["drain"]))),
        echo("other", {}, after=["state"], late=Late(
            condition="{{ not steps.state.output.up }}", reads=reads(state=["state"]))),
    )
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    snap = client.snapshot(wf)
    assert snap.nodes["drain"].state is NodeState.SKIPPED
    assert snap.nodes["drain"].detail == "skipped: if steps.state.output.in was false"
    assert snap.nodes["refill"].state is NodeState.SKIPPED
    assert snap.nodes["refill"].detail == "skipped: needs drain, which was skipped"
    assert set(runs(client, wf)) == {"state", "destroy", "other"}


def fan(id: str, items: str, after: list[str], *, value: object, concurrency=None,
        label: str | None = None, args: dict | None = None, **late):
    return node(id, task="test.output", after=after, args=args or {},
                expand=FanOut(items=items, var="osd", label=label, concurrency=concurrency,
                              source="the output of discover"),
                late=Late(args={"value": value}, **late))


def test_runtime_fan_out_runs_one_member_per_item_and_its_fan_in_waits(client, celery_worker):
    d = dag(
        echo("discover", {"osds": [3, 7, 11]}),
        fan("drain", "{{ steps.discover.output.osds }}", ["discover"],
            value={"osd": "{{ osd }}"}, args={"seconds": 0.2}, concurrency=1,
            reads=reads(discover=["discover"])),
        echo("after", None, after=["drain"], late=Late(
            args={"value": {"all": "{{ steps.drain.outputs | map(attribute='osd') | list }}",
                            "seven": "{{ steps.drain['7'].output.osd }}"}},
            reads=reads(drain=(["drain"], True)))),
        groups={"drain": 1},
    )
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    snap = client.snapshot(wf)
    members = ["drain[3]", "drain[7]", "drain[11]"]
    assert all(snap.nodes[m].state is NodeState.SUCCEEDED for m in members)
    assert snap.nodes["drain"].detail == "expanded into 3 members"
    assert {snap.nodes[m].group for m in members} == {"drain"}
    assert got(client, wf)["after"] == {"all": [3, 7, 11], "seven": 7}
    order = client.redis.lrange(recorded(NAMESPACE, wf, "order"), 0, -1)
    assert order[-1] == "after" and set(order[1:4]) == set(members)
    assert client.redis.get(recorded(NAMESPACE, wf, "maxrun")) == "1"


def test_runtime_fan_out_over_nothing_lets_what_follows_run(client, celery_worker):
    d = dag(
        echo("discover", {"osds": []}),
        fan("drain", "{{ steps.discover.output.osds }}", ["discover"], value={},
            reads=reads(discover=["discover"])),
        echo("after", {}, after=["drain"]),
    )
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert set(runs(client, wf)) == {"discover", "after"}
    assert client.snapshot(wf).nodes["drain"].detail == "expanded into 0 members"


@pytest.mark.parametrize(("value", "message"), [
    ([1, 2], "the task returned list, not a JSON object"),
    ({"x": "y" * 70_000}, "more than the 64 KiB a step may keep"),
])
def test_an_output_that_is_not_a_small_object_fails_its_step(client, celery_worker, value,
                                                            message):
    wf = client.submit(dag(echo("bad", value), echo("next", {}, after=["bad"])), user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    snap = client.snapshot(wf)
    assert snap.failed_node == "bad" and message in (snap.error or "")
    assert snap.nodes["next"].state is NodeState.CANCELLED


def test_a_missing_key_fails_the_reading_step_naming_the_key(client, celery_worker):
    d = dag(
        echo("facts", {"slot": 4}),
        echo("use", None, after=["facts"], late=Late(
            args={"value": "{{ steps.facts.output.device }}"}, reads=reads(facts=["facts"]))),
    )
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    snap = client.snapshot(wf)
    assert snap.failed_node == "use"
    assert "'device'" in snap.error and "steps.facts.output.device" in snap.error
    assert "use" not in runs(client, wf)


def test_a_runtime_foreach_over_a_non_list_fails_the_step_not_the_engine(client, celery_worker):
    d = dag(
        echo("discover", {"osds": {"a": 1}}),
        fan("drain", "{{ steps.discover.output.osds }}", ["discover"], value={},
            reads=reads(discover=["discover"])),
        echo("after", {}, after=["drain"]),
        echo("fin", {}, cleanup=True),
    )
    wf = client.submit(d, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    snap = client.snapshot(wf)
    assert snap.failed_node == "drain" and "not a list" in snap.error
    assert snap.nodes["fin"].state is NodeState.SUCCEEDED
    assert set(runs(client, wf)) == {"discover", "fin"}



def member_2_failed(client) -> str:
    """A workflow that failed at ``drain[2]``, a member of a runtime fan-out over [1, 2, 3]
    (the others succeeded), with ``after`` waiting for the fan-out; ``drain[2]`` succeeds
    once the fact ``fixed`` is set."""
    d = dag(
        node("discover", task="test.wait_fact", args={"key": "found"}),
        node("drain", task="test.fail", after=["discover"],
             expand=FanOut(items="{{ steps.discover.output.value.osds }}", var="osd"),
             late=Late(args={"fixed_by": "{{ 'fixed' if osd == 2 else 'found' }}"},
                       reads=reads(discover=["discover"]))),
        echo("after", {}, after=["drain"]),
    )
    wf = client.submit(d, user="tester")
    client.set_fact(wf, "found", {"osds": [1, 2, 3]})
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED
    return wf


def test_resume_after_a_failed_member_waits_for_its_rerun(client, celery_worker):
    """The expander stays succeeded; the step after the fan-out is not released by it on a
    resume, but by the fan-in, once the re-run member has ended."""
    wf = member_2_failed(client)
    snap = client.snapshot(wf)
    assert snap.nodes["drain"].state is NodeState.SUCCEEDED
    assert snap.nodes["after"].state is NodeState.CANCELLED
    client.resume(wf, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.FAILED  # drain[2] fails again
    snap = client.snapshot(wf)
    assert snap.failed_node == "drain[2]"
    assert snap.nodes["after"].state is NodeState.CANCELLED, "ran before its fan-out ended"
    client.set_fact(wf, "fixed", True)
    client.resume(wf, user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert runs(client, wf)["after"] == 1


def test_retry_of_a_runtime_fan_out_step_reruns_its_failed_member(client, celery_worker):
    """The step's name is also its expander's id: it names the whole step, members too."""
    wf = member_2_failed(client)
    assert client.snapshot(wf).failed_node == "drain[2]"
    client.set_fact(wf, "fixed", True)
    client.retry(wf, "drain", user="tester")
    assert client.wait(wf, timeout=30) is WorkflowState.SUCCEEDED
    assert runs(client, wf) == {"discover": 1, "drain[1]": 1, "drain[2]": 1, "drain[3]": 1,
                                "after": 1}
