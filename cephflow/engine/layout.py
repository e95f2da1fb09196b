"""How a DAG is laid out in Redis hashes at submit (pure: no I/O).

Every node gets its spec, state and remaining-dependency counter; dependency lists are shared
between nodes that have the same ones, so the stored size grows with the nodes, not with the
edges (a chain of 100 fan-outs of 100 is a million edges but 100 stored lists). Where many
nodes wait for the same many nodes, an invisible join node sits between them: a completion
then decrements one counter instead of one per waiting node.

A runtime fan-out's expander gets a join of its own, its fan-in: the nodes after the step
count the fan-in down instead of the expander, so that when the expander writes its members
(``lua/expand.lua``) it only adds them to the fan-in's count and nobody's counter is
re-pointed. Their parents lists still name the expander (what views and resume read).
"""

from __future__ import annotations

import json
from typing import Any

from cephflow.engine import keys
from cephflow.engine.state import NodeState
from cephflow.errors import EngineError
from cephflow.runbook.dag import RUN_TIME_FIELDS, Dag, Node

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
        self.fanin: dict[str, str] = {}
        self.open_main = 0
        self._expander_of: dict[str, str] | None = None
        self.open_cleanup = 0
        self.cleanup_roots: list[str] = []
        self._ids: dict[tuple[str, ...], str] = {}

    @property
    def expander_of(self) -> dict[str, str]:
        """Fan-in join -> its expander (the inverse of ``fanin``)."""
        if self._expander_of is None:
            self._expander_of = {join: node for node, join in self.fanin.items()}
        return self._expander_of

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
                 (wk.joins, self.joins), (wk.join_of, self.join_of), (wk.fanin, self.fanin)]
        return [(k, m) for k, m in pairs if m]


def plan_writes(dag: Dag) -> tuple[list[str], Writes]:
    """Validate the DAG's edges and lay it out as hashes; returns (main roots, writes).

    Nodes with the same dependencies share one parents list, and a node's children list is
    the concatenation of those sets, shared too: a chain of 100 fan-outs of 100 stores a few
    hundred lists, not a million edges, and the client never holds the edges twice.
    """
    cleanup = _check_edges(dag)
    limited = {g.id: g.concurrency for g in dag.groups.values() if g.concurrency}
    w = Writes()
    w.fanin = {n.id: fanin_id(n.id) for n in dag.nodes if n.expand is not None}
    waiters = _Waiters()
    roots = [n.id for n in dag.nodes if _lay_out_node(w, waiters, n, cleanup, limited)]
    targets = _join_targets(w, waiters)
    _link_children(w, waiters, targets)
    for expander, join in w.fanin.items():
        # the expander alone, until it writes its members; then they count down too
        w.joins[join] = 1
        w.deps[join] = 1
        w.parents[join] = w.edge_list([expander])
        w.children[expander] = w.edge_list([join])
    for g, limit in limited.items():
        w.glimit[g] = int(limit)
        w.gactive[g] = 0
    return roots, w


def fanin_id(expander: str) -> str:
    """The join the nodes after a runtime fan-out count down (not a node id, never shown)."""
    return f"{JOIN_PREFIX}fanin:{expander}"


def _check_edges(dag: Dag) -> set[str]:
    """Refuse duplicate ids and edges to unknown or finally nodes; returns the finally ids."""
    cleanup = {n.id for n in dag.nodes if n.cleanup}
    ids = {n.id for n in dag.nodes}
    if len(ids) != len(dag.nodes):
        raise EngineError("the DAG has duplicate node ids")
    for n in dag.nodes:
        for dep in n.after:
            if dep not in ids:
                raise EngineError(f"node {n.id!r} waits for unknown node {dep!r}")
            if dep in cleanup and not n.cleanup:
                raise EngineError(f"node {n.id!r} waits for the finally node {dep!r}")
    return cleanup


class _Waiters:
    """The distinct dependency sets in the order first met: who waits for each, and the
    stored list of its nodes (index ``i`` of ``members`` and ``lists`` is set ``i``)."""

    def __init__(self) -> None:
        self.index: dict[tuple[str, ...], int] = {}
        self.members: list[list[str]] = []
        self.lists: list[str] = []

    def add(self, w: Writes, deps: tuple[str, ...], node_id: str) -> str:
        """Record that ``node_id`` waits for ``deps``; returns the id of their stored list.

        ``deps`` is what the node counts down (an expander's fan-in in place of the
        expander); the stored list names the nodes themselves."""
        index = self.index.get(deps)
        if index is None:
            index = self.index[deps] = len(self.members)
            self.members.append([])
            shown = [w.expander_of.get(d, d) for d in deps] if w.fanin else list(deps)
            self.lists.append(w.edge_list(shown))
        self.members[index].append(node_id)
        return self.lists[index]


def _node_spec(n: Node) -> dict[str, Any]:
    """What a worker needs to run the node (and views to show it), as stored in ``spec``."""
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
    for name in RUN_TIME_FIELDS:  # decided when the node is ready (engine/late.py)
        if getattr(n, name) is not None:
            spec[name] = getattr(n, name).model_dump(mode="json")
    return spec


def _lay_out_node(w: Writes, waiters: _Waiters, n: Node, cleanup: set[str],
                  limited: dict[str, int]) -> bool:
    """Write one node's spec, state, counter and parents; True when it is a main root."""
    # a finally node waits only for other finally nodes; the whole main part before it
    after = [d for d in n.after if d in cleanup] if n.cleanup else n.after
    deps = tuple(w.fanin.get(d, d) for d in after) if w.fanin else tuple(after)
    root = False
    if n.cleanup:
        w.cleanup[n.id] = 1
        w.open_cleanup += 1
        if not deps:
            w.cleanup_roots.append(n.id)
    else:
        w.open_main += 1
        root = not deps
    w.spec[n.id] = json.dumps(_node_spec(n), sort_keys=True, default=str)
    w.state[n.id] = NodeState.PENDING.value
    w.deps[n.id] = len(deps)
    if deps:
        w.parents[n.id] = waiters.add(w, deps, n.id)
    if n.skip:
        w.skip[n.id] = 1
    if n.group in limited:
        w.group[n.id] = n.group
    return root


def _join_targets(w: Writes, waiters: _Waiters) -> list[list[str]]:
    """What each dependency set's nodes notify when they end: the waiting nodes, or one join.

    Where many nodes wait for the same many nodes, an invisible join counts the set down
    and its members wait for the join alone.
    """
    targets: list[list[str]] = []
    for deps, index in waiters.index.items():
        group = waiters.members[index]
        if len(deps) >= JOIN_MIN and len(group) >= JOIN_MIN:
            join = f"{JOIN_PREFIX}{index}"
            w.joins[join] = 1
            w.deps[join] = len(deps)
            w.parents[join] = waiters.lists[index]
            w.children[join] = w.edge_list(group)
            for member in group:
                w.deps[member] = 1
                w.join_of[member] = join
            targets.append([join])
        else:
            targets.append(group)
    return targets


def _link_children(w: Writes, waiters: _Waiters, targets: list[list[str]]) -> None:
    """Give every awaited node its children list: the targets of the sets it is in, shared
    by every node that is in the same sets."""
    sets_of: dict[str, list[int]] = {}
    for deps, index in waiters.index.items():
        for dep in deps:
            sets_of.setdefault(dep, []).append(index)
    shared: dict[tuple[int, ...], str] = {}
    for node_id, indexes in sets_of.items():
        key = tuple(indexes)
        list_id = shared.get(key)
        if list_id is None:
            kids = targets[indexes[0]] if len(indexes) == 1 else [
                kid for i in indexes for kid in targets[i]]
            list_id = shared[key] = w.edge_list(kids)
        w.children[node_id] = list_id
