"""How a DAG is laid out in Redis (pure logic, no services)."""

from __future__ import annotations

import json

import pytest

from cephflow.engine.layout import plan_writes
from cephflow.errors import EngineError
from tests.engine.support import dag, node, stages


def test_stages_count_down_through_one_join_instead_of_every_edge():
    roots, w = plan_writes(stages(20, 50))
    assert roots == [f"s0[{i}]" for i in range(50)]
    # s3[7] ends: one join counter goes down, not 50 counters of stage 4
    [join] = json.loads(w.edges[w.children["s3[7]"]])
    assert join in w.joins and w.deps[join] == 50
    assert json.loads(w.edges[w.children[join]]) == [f"s4[{i}]" for i in range(50)]
    assert w.deps["s4[0]"] == 1 and w.join_of["s4[0]"] == join
    # the real dependencies are kept for views and for resume
    assert json.loads(w.edges[w.parents["s4[0]"]]) == [f"s3[{i}]" for i in range(50)]
    assert w.open_main == 1000 and len(w.edges) < 45


def test_small_shared_sets_keep_plain_edges():
    _, w = plan_writes(dag(node("a"), node("b"), node("c", after=["a", "b"]),
                           node("d", after=["a", "b"])))
    assert not w.joins and w.deps["c"] == 2
    assert json.loads(w.edges[w.children["a"]]) == ["c", "d"]


def test_finally_nodes_wait_only_for_finally_nodes():
    roots, w = plan_writes(dag(node("a"), node("b", after=["a"]),
                                node("f1", cleanup=True, after=["b"]),
                                node("f2", cleanup=True, after=["f1", "a"])))
    assert roots == ["a"] and w.cleanup_roots == ["f1"]
    assert w.deps["f2"] == 1 and json.loads(w.edges[w.children["f1"]]) == ["f2"]
    assert "b" not in w.children  # the finally part waits for the whole main part instead


def test_edges_to_unknown_or_finally_nodes_are_refused():
    with pytest.raises(EngineError, match="unknown node 'x'"):
        plan_writes(dag(node("a", after=["x"])))
    with pytest.raises(EngineError, match="finally node"):
        plan_writes(dag(node("f", cleanup=True), node("a", after=["f"])))
