"""Property: for random valid runbooks (random steps, dependencies, fan-outs, when), the DAG
keeps the runbook's ordering: nodes come in topological order, ids are unique, every node of
a step can only start after every node of the steps it waits for, ``when: false`` skips, and
the same input gives the same bytes. A runbook whose dependencies loop is refused with the
cycle."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cephflow.errors import RunbookError
from cephflow.runbook.compiler import Compiler
from tests.runbook import support


@st.composite
def runbooks(draw):
    count = draw(st.integers(1, 7))
    ids = [f"s{i}" for i in range(count)]
    steps = []
    for sid in ids:
        step = {"id": sid, "task": "core.log", "with": {"message": sid}}
        after = draw(st.lists(st.sampled_from(ids), max_size=3, unique=True))
        if after:
            step["after"] = after
        if draw(st.booleans()):
            step["foreach"] = draw(st.lists(st.integers(0, 5), max_size=4, unique=True))
            step["with"] = {"message": f"{sid} {{{{ item }}}}"}
        if draw(st.integers(0, 4)) == 0:
            step["when"] = False
        if draw(st.integers(0, 5)) == 0:
            step["approval"] = f"go {sid}?"
        steps.append(step)
    return {"name": "random", "steps": steps}


def _has_cycle(steps: list[dict]) -> bool:
    graph = {s["id"]: s.get("after", []) for s in steps}
    state: dict[str, int] = {}

    def visit(n: str) -> bool:
        state[n] = 1
        for d in graph[n]:
            if state.get(d) == 1 or (d not in state and visit(d)):
                return True
        state[n] = 2
        return False

    return any(n not in state and visit(n) for n in graph)


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=runbooks())
def test_random_runbooks_keep_their_order(tmp_path, book):
    path = tmp_path / "random.yaml"
    path.write_text(yaml.safe_dump(book, sort_keys=False))
    compiler = Compiler(catalog=support.catalog(), lookups={}, search_path=[])
    if _has_cycle(book["steps"]):
        with pytest.raises(RunbookError, match="dependency cycle"):
            compiler.compile(compiler.load(path), {})
        return
    dag = compiler.compile(compiler.load(path), {})
    assert compiler.compile(compiler.load(path), {}).to_json() == dag.to_json()

    position = {}
    for i, node in enumerate(dag.nodes):
        assert node.id not in position, "duplicate id"
        assert all(dep in position for dep in node.after), "not topological"
        position[node.id] = i
    ancestors: dict[str, set[str]] = {}
    for node in dag.nodes:
        ancestors[node.id] = set(node.after).union(*(ancestors[d] for d in node.after))
    by_step: dict[str, list[str]] = {}
    for node in dag.nodes:
        if node.task != "core.noop":
            by_step.setdefault(node.step, []).append(node.id)
    graph = {s["id"]: s.get("after", []) for s in book["steps"]}

    def upstream(sid: str) -> set[str]:
        return set(graph[sid]).union(*(upstream(d) for d in graph[sid]))

    for step in book["steps"]:
        mine = by_step.get(step["id"], [])
        if "foreach" in step:
            assert len([n for n in mine if n.startswith(step["id"] + "[")]) == len(step["foreach"])
        for node_id in mine:
            assert dag.node(node_id).skip is (step.get("when") is False)
            for dep in upstream(step["id"]):
                # every node waits, directly or not, for every node of every step upstream
                # (also through a fan-out that made no nodes)
                assert set(by_step.get(dep, [])) <= ancestors[node_id], (node_id, dep)
