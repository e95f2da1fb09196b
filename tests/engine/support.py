"""Engine test helpers: DAG builders, what the test tasks recorded, exactly-once checks.

Plain functions, imported where used; the ``client`` fixture is in tests/fixtures/workflow_client.py.
"""

from __future__ import annotations

import time

from cephflow.engine.client import WorkflowClient
from cephflow.runbook.dag import Dag, Group, Node
from tests.engine.recorded import recorded
from tests.fixtures.redis_server import NAMESPACE


def node(id: str, task: str = "test.record", after: list[str] | None = None, **kw) -> Node:
    return Node(id=id, step=kw.pop("step", id.split("[")[0]), task=task, after=after or [], **kw)


def dag(*nodes: Node, groups: dict[str, int | None] | None = None, **kw) -> Dag:
    return Dag(runbook=kw.pop("runbook", "test"), source="tests", nodes=list(nodes),
               groups={g: Group(id=g, concurrency=c) for g, c in (groups or {}).items()}, **kw)


def stages(n_stages: int, width: int) -> Dag:
    """A chain of ``n_stages`` fan-outs of ``width``, each stage after all of the previous."""
    nodes: list[Node] = []
    prev: list[str] = []
    for s in range(n_stages):
        ids = [f"s{s}[{i}]" for i in range(width)]
        nodes += [Node(id=i, step=f"s{s}", task="test.record", after=prev) for i in ids]
        prev = ids
    return dag(*nodes)


def runs(client: WorkflowClient, wf: str) -> dict[str, int]:
    return {k: int(v) for k, v in client.redis.hgetall(recorded(NAMESPACE, wf, "runs")).items()}


def wait_node(client: WorkflowClient, wf: str, node: str, state: str,
              timeout: float = 20) -> None:
    """Block on the workflow's event stream until ``node`` reaches ``state``."""
    deadline = time.monotonic() + timeout
    last = "0-0"
    while time.monotonic() < deadline:
        for event in client.events(wf, last, block_ms=500):
            last = event.id
            if event.node == node and event.state == state:
                return
    raise AssertionError(f"{node} did not reach {state} within {timeout} s")


def order(client: WorkflowClient, wf: str) -> list[str]:
    return client.redis.lrange(recorded(NAMESPACE, wf, "order"), 0, -1)


def assert_exactly_once_in_order(client: WorkflowClient, wf: str, d: Dag,
                                 expected: set[str] | None = None) -> None:
    """Every expected node ran exactly once, each after all of its dependencies."""
    expected = expected if expected is not None else {n.id for n in d.nodes}
    counts = runs(client, wf)
    assert set(counts) == expected
    assert all(c == 1 for c in counts.values()), {k: c for k, c in counts.items() if c != 1}
    position = {n: i for i, n in enumerate(order(client, wf))}
    for n in d.nodes:
        if n.id in expected:
            for dep in n.after:
                if dep in expected:
                    assert position[dep] < position[n.id], (dep, n.id)
