"""The summary tree of a big workflow (``operations.tree.outline_shaped`` and ``opened``),
on snapshots built in code: what the page's first render draws and what a row opens to."""

from __future__ import annotations

import pytest

from cephflow.engine.state import NodeSnapshot, NodeState
from cephflow.errors import ParamError
from cephflow.operations import tree
from tests.cli.samples import T0, workflow

NOW = T0 + 100


def _node(node_id: str, step: str, state: str = "pending", **kw) -> NodeSnapshot:
    return NodeSnapshot(id=node_id, step=step, task="core.noop", state=NodeState(state), **kw)


def _stages(count: int, size: int, prefix: str = "", states: dict[int, str] | None = None
            ) -> list[NodeSnapshot]:
    """``count`` stages of ``size`` plain nodes (``s0[0]`` ...), each stage in the state
    ``states`` gives it (pending otherwise)."""
    states = states or {}
    return [_node(f"{prefix}s{s}[{i}]", f"{prefix}s{s}", states.get(s, "pending"))
            for s in range(count) for i in range(size)]


def test_a_big_chain_of_stages_is_the_running_stage_and_one_run_per_side():
    nodes = _stages(30, 10, states={0: "succeeded", 1: "succeeded", 2: "succeeded"})
    nodes[35] = _node("s3[5]", "s3", "running", started_at=T0 + 90)  # stage s3 runs
    shown = tree.outline_shaped(workflow(nodes), now=NOW)
    assert shown["shape"] == "summary"
    rows = [(e["kind"], e["name"], e["state"], e.get("counters")) for e in shown["entries"]]
    assert rows == [("run", "s0 … s2", "succeeded", "30/30 ✓"),
                    ("group", "s3", "running", "0/10 ✓  1 running"),
                    ("run", "s4 … s29", "pending", "0/260 ✓")]
    assert [m["id"] for m in shown["entries"][1]["members"]] == ["s3[5]"]
    assert [e["key"] for e in shown["entries"]] == [":0-2", ":3", ":4-29"]

    after = tree.opened(workflow(nodes), ":4-29", now=NOW, limit=5)
    assert [e["name"] for e in after["entries"]] == ["s4", "s5", "s6", "s7", "s8"]
    assert (after["total"], after["next"]) == (26, 5)
    assert after["entries"][0]["key"] == ":4"
    members = tree.opened(workflow(nodes), ":3", now=NOW, offset=8)
    assert [e["id"] for e in members["entries"]] == ["s3[8]", "s3[9]"]
    assert members["next"] is None


def test_a_failure_stays_expanded_and_two_quiet_rows_are_no_run():
    nodes = [*_stages(2, 150, states={0: "succeeded", 1: "succeeded"}),
             _node("check", "check", "failed", error="boom"),
             _node("a", "a"), _node("b", "b")]
    entries = tree.outline_shaped(workflow(nodes), now=NOW)["entries"]
    assert [(e["kind"], e["name"]) for e in entries] == [
        ("group", "s0"), ("group", "s1"), ("node", "check"), ("node", "a"), ("node", "b")]
    assert entries[2]["error"] == "boom"


def test_an_include_is_summarised_inside_and_its_rows_open_by_their_prefix():
    nodes = [_node("first", "first", "succeeded"),
             *_stages(30, 10, prefix="drain.", states={0: "running"})]
    shown = tree.outline_shaped(workflow(nodes), now=NOW, shape="summary")
    include = shown["entries"][1]
    assert (include["kind"], include["name"], include["state"]) == ("include", "drain",
                                                                     "running")
    assert [(e["kind"], e["name"], e["key"]) for e in include["entries"]] == [
        ("group", "s0", "drain.:0"), ("run", "s1 … s29", "drain.:1-29")]
    inside = tree.opened(workflow(nodes), "drain.:1-29", now=NOW, limit=2)
    assert [e["name"] for e in inside["entries"]] == ["s1", "s2"]
    with pytest.raises(ParamError, match="no collapsed row"):
        tree.opened(workflow(nodes), "nowhere.:0", now=NOW)


def test_a_small_workflow_stays_full_unless_asked_and_bad_keys_are_refused():
    nodes = _stages(3, 10)
    assert tree.outline_shaped(workflow(nodes), now=NOW)["shape"] == "full"
    full = tree.outline_shaped(workflow(nodes), now=NOW)
    assert len(full["entries"]) == 30
    assert tree.outline_shaped(workflow(nodes), now=NOW, shape="summary")["entries"][0][
        "kind"] == "run"
    for key in (":5-9", ":x", ":0-0-0"):
        with pytest.raises(ParamError):
            tree.opened(workflow(nodes), key, now=NOW)
