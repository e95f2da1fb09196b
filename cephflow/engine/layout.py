"""How a DAG is laid out in Redis hashes at submit (pure: no I/O).

Every node gets its spec, state and remaining-dependency counter; dependency lists are shared
between nodes that have the same ones, so the stored size grows with the nodes, not with the
edges (a chain of 100 fan-outs of 100 is a million edges but 100 stored lists). Where many
nodes wait for the same many nodes, an invisible join node sits between them: a completion
then decrements one counter instead of one per waiting node.
"""

from __future__ import annotations

import json
from typing import Any

from cephflow.engine import keys
from cephflow.engine.state import NodeState
from cephflow.errors import EngineError
from cephflow.runbook.dag import Dag

JOIN_MIN = 4
"""A dependency set this large, shared by this many nodes, is counted down through a join."""
JOIN_PREFIX = "\x1ejoin:"
"""Join ids: not node ids (a control character no runbook id can hold), never shown."""


class Writes:
    """The hashes a DAG is stored as (children/parents lists shared when equal)."""

    def __init__(self) -> None:
        self.spec: dict[str, str] = {}
        self.state: dict[str, str] = {}
        self.deps: dict[str, int] = {}
        self.children: dict[str, str] = {}
        self.parents: dict[str, str] = {}
        self.edges: dict[str, str] = {}
        self.cleanup: dict[str, int] = {}
        self.skip: dict[str, int] = {}
        self.group: dict[str, str] = {}
        self.glimit: dict[str, int] = {}
        self.gactive: dict[str, int] = {}
        self.joins: dict[str, int] = {}
        self.join_of: dict[str, str] = {}
        self.open_main = 0
        self.open_cleanup = 0
        self.cleanup_roots: list[str] = []
        self._ids: dict[tuple[str, ...], str] = {}

    def edge_list(self, ids: list[str]) -> str:
        key = tuple(ids)
        list_id = self._ids.get(key)
        if list_id is None:
            list_id = self._ids[key] = str(len(self._ids))
            self.edges[list_id] = json.dumps(ids)
        return list_id

    def hashes(self, wk: keys.WorkflowKeys) -> list[tuple[str, dict[str, Any]]]:
        pairs = [(wk.spec, self.spec), (wk.state, self.state), (wk.deps, self.deps),
                 (wk.children, self.children), (wk.parents, self.parents),
                 (wk.edges, self.edges), (wk.cleanup, self.cleanup), (wk.skip, self.skip),
                 (wk.group, self.group), (wk.glimit, self.glimit), (wk.gactive, self.gactive),
                 (wk.joins, self.joins), (wk.join_of, self.join_of)]
        return [(k, m) for k, m in pairs if m]


def plan_writes(dag: Dag) -> tuple[list[str], Writes]:
    """Validate the DAG's edges and lay it out as hashes; returns (main roots, writes).

    Nodes with the same dependencies share one parents list, and a node's children list is
    the concatenation of those sets, shared too: a chain of 100 fan-outs of 100 stores a few
    hundred lists, not a million edges, and the client never holds the edges twice.
    """
    w = Writes()
    cleanup = {n.id for n in dag.nodes if n.cleanup}
    ids = {n.id for n in dag.nodes}
    if len(ids) != len(dag.nodes):
        raise EngineError("the DAG has duplicate node ids")
    limited = {g.id: g.concurrency for g in dag.groups.values() if g.concurrency}
    by_deps: dict[tuple[str, ...], int] = {}
    members: list[list[str]] = []
    parent_lists: list[str] = []
    roots: list[str] = []
    for n in dag.nodes:
        for dep in n.after:
            if dep not in ids:
                raise EngineError(f"node {n.id!r} waits for unknown node {dep!r}")
            if dep in cleanup and not n.cleanup:
                raise EngineError(f"node {n.id!r} waits for the finally node {dep!r}")
        # a finally node waits only for other finally nodes; the whole main part before it
        deps = tuple(d for d in n.after if d in cleanup) if n.cleanup else tuple(n.after)
        spec: dict[str, Any] = {"step": n.step, "task": n.task, "args": n.args,
                                "retry": n.retry.model_dump(), "timeout": n.timeout}
        for name in ("group", "label"):
            if getattr(n, name) is not None:
                spec[name] = getattr(n, name)
        if n.redo_on_resume:
            spec["redo_on_resume"] = True
        if n.secret_args:
            spec["secret_args"] = n.secret_args
        if n.cleanup:
            spec["cleanup"] = True
            spec["after"] = n.after
            w.cleanup[n.id] = 1
            w.open_cleanup += 1
            if not deps:
                w.cleanup_roots.append(n.id)
        else:
            w.open_main += 1
            if not deps:
                roots.append(n.id)
        w.spec[n.id] = json.dumps(spec, sort_keys=True, default=str)
        w.state[n.id] = NodeState.PENDING.value
        w.deps[n.id] = len(deps)
        if deps:
            index = by_deps.get(deps)
            if index is None:
                index = by_deps[deps] = len(members)
                members.append([])
                parent_lists.append(w.edge_list(list(deps)))
            members[index].append(n.id)
            w.parents[n.id] = parent_lists[index]
        if n.skip:
            w.skip[n.id] = 1
        if n.group in limited:
            w.group[n.id] = n.group
    sets_of: dict[str, list[int]] = {}
    targets: list[list[str]] = []
    for deps, index in by_deps.items():
        for dep in deps:
            sets_of.setdefault(dep, []).append(index)
        group = members[index]
        if len(deps) >= JOIN_MIN and len(group) >= JOIN_MIN:
            # many nodes wait for the same many nodes: count down one join, not every edge
            join = f"{JOIN_PREFIX}{index}"
            w.joins[join] = 1
            w.deps[join] = len(deps)
            w.parents[join] = parent_lists[index]
            w.children[join] = w.edge_list(group)
            for member in group:
                w.deps[member] = 1
                w.join_of[member] = join
            targets.append([join])
        else:
            targets.append(group)
    shared: dict[tuple[int, ...], str] = {}
    for node_id, indexes in sets_of.items():
        key = tuple(indexes)
        list_id = shared.get(key)
        if list_id is None:
            kids = targets[indexes[0]] if len(indexes) == 1 else [
                kid for i in indexes for kid in targets[i]]
            list_id = shared[key] = w.edge_list(kids)
        w.children[node_id] = list_id
    for g, limit in limited.items():
        w.glimit[g] = int(limit)
        w.gactive[g] = 0
    return roots, w
