"""A workflow's steps as a tree: what the terminal's live tree and the web page both show.

The shape is decided here once, for both front ends: a ``foreach`` fan-out is one entry with
counters whose running and failed members are listed, an included runbook is a subtree, the
compiler's barrier nodes are left out. ``cli/views/tree.py`` fits the entries to a terminal
and draws them with rich; ``outline`` gives them to the web page as plain data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from cephflow.ceph.pacing import movement_of
from cephflow.engine.state import NodeSnapshot, NodeState, WorkflowSnapshot
from cephflow.hints import approve_command, status_command
from cephflow.operations.eta import outlook
from cephflow.runbook.barrier import is_barrier
from cephflow.task_names import APPROVAL_TASK

MET = (NodeState.SUCCEEDED, NodeState.SKIPPED)
ACTIVE = (NodeState.RUNNING, NodeState.QUEUED)


def group_state(members: Iterable[NodeSnapshot]) -> NodeState:
    """One state for a fan-out: failed beats running beats the rest."""
    states = {m.state for m in members}
    if NodeState.FAILED in states:
        return NodeState.FAILED
    if states & set(ACTIVE):
        return NodeState.RUNNING
    if all(s.terminal for s in states):
        if NodeState.CANCELLED in states:
            return NodeState.CANCELLED
        if states == {NodeState.SKIPPED}:
            return NodeState.SKIPPED
        return NodeState.SUCCEEDED
    if states & set(MET):
        return NodeState.RUNNING
    return NodeState.PENDING


def group_counters(members: list[NodeSnapshot]) -> str:
    """``37/120 ✓  2 running  1 failed``: what an operator scans a fan-out for."""
    counts = {state: 0 for state in NodeState}
    for member in members:
        counts[member.state] += 1
    parts = [f"{counts[NodeState.SUCCEEDED]}/{len(members)} ✓"]
    for state in (
        NodeState.RUNNING,
        NodeState.QUEUED,
        NodeState.FAILED,
        NodeState.CANCELLED,
        NodeState.SKIPPED,
    ):
        if counts[state]:
            parts.append(f"{counts[state]} {state.value}")
    return "  ".join(parts)


NO_WORKER_AFTER = 60.0
"""Seconds a node may sit queued before the tree says no worker has taken it."""


def no_worker_for(node: NodeSnapshot, now: float) -> float | None:
    """How long a queued node has waited for a worker, once that is past NO_WORKER_AFTER."""
    if node.state is not NodeState.QUEUED or node.queued_since is None:
        return None
    waited = now - node.queued_since
    return waited if waited >= NO_WORKER_AFTER else None


def node_elapsed(node: NodeSnapshot, now: float) -> float | None:
    if node.started_at is None:
        return None
    end = node.ended_at if node.state.terminal and node.ended_at is not None else now
    return end - node.started_at


def group_elapsed(members: list[NodeSnapshot], now: float) -> float | None:
    starts = [m.started_at for m in members if m.started_at is not None]
    if not starts:
        return None
    if all(m.state.terminal for m in members):
        ends = [m.ended_at for m in members if m.ended_at is not None]
        return (max(ends) if ends else now) - min(starts)
    return now - min(starts)




@dataclass(slots=True)
class Include:
    """The nodes that came from one ``include:`` step: a subtree of their own."""

    name: str
    """The include step's id with the prefixes of enclosing includes (``drain``)."""
    items: list[Item] = field(default_factory=list)
    members: list[NodeSnapshot] = field(default_factory=list)


Item = NodeSnapshot | list[NodeSnapshot] | Include
"""A line of one level: a plain node, the members of one fan-out, or an include's subtree."""


def tree_items(nodes: Iterable[NodeSnapshot], prefix: str = "") -> list[Item]:
    """One level's items in the DAG's order; ``prefix`` is the enclosing includes' (``a.``).

    A node whose step carries a further prefix (``drain.reweight``: step ids cannot contain
    dots) came from an include and goes into that include's subtree. ``finally`` nodes stay
    at the top: they run at the very end, and would keep a finished include open.
    """
    nodes = list(nodes)
    expanded = {n.group for n in nodes if n.group is not None}
    items: list[Item] = []
    groups: dict[str, list[NodeSnapshot]] = {}
    includes: dict[str, Include] = {}
    for node in nodes:
        rest = node.step[len(prefix):] if node.step.startswith(prefix) else node.step
        if "." in rest and not node.cleanup:
            name = prefix + rest.split(".", 1)[0]
            include = includes.get(name)
            if include is None:
                include = includes[name] = Include(name)
                items.append(include)
            include.members.append(node)
            continue
        if node.group is None:
            if not (node.expander and node.step in expanded):  # its members stand for it
                items.append(node)
            continue
        members = groups.get(node.group)
        if members is None:
            members = groups[node.group] = []
            items.append(members)
        members.append(node)
    for include in includes.values():
        include.items = tree_items(include.members, include.name + ".")
    return items


def strip_prefix(name: str, prefix: str) -> str:
    return name[len(prefix):] if prefix and name.startswith(prefix) else name


def steps_of(snapshot: WorkflowSnapshot) -> list[Item]:
    """The top level of ``snapshot``'s tree (barriers left out)."""
    return tree_items(n for n in snapshot.nodes.values() if not is_barrier(n))


def outline(snapshot: WorkflowSnapshot, *, now: float) -> dict[str, Any]:
    """The tree as plain data for the web page: the workflow (what its header shows), then
    its entries.

    Each entry is ``{"kind": "node" | "group" | "include", "name", "state", ...}``: a node
    carries its id, elapsed time, detail, error, attempt and (an open gate) the approve
    command; a group its counters and the nodes of its members that run or failed; an
    include its own entries.
    """
    return {"id": snapshot.id, "runbook": snapshot.runbook, "state": snapshot.state.value,
            "failed_node": snapshot.failed_node, "error": snapshot.error,
            "submitted_by": snapshot.submitted_by, "submitted_at": snapshot.submitted_at,
            "ended_at": snapshot.ended_at,
            "params": snapshot.given if snapshot.given is not None else snapshot.params,
            "eta": asdict(outlook(snapshot, now)),
            "pause": snapshot.pause.model_dump() if snapshot.pause else None,
            "entries": [_entry(snapshot, item, "", now) for item in steps_of(snapshot)]}


def _entry(snapshot: WorkflowSnapshot, item: Item, prefix: str, now: float) -> dict[str, Any]:
    if isinstance(item, NodeSnapshot):
        return _node(snapshot, item, strip_prefix(item.id, prefix), now)
    if isinstance(item, Include):
        return {"kind": "include", "name": strip_prefix(item.name, prefix),
                "state": group_state(item.members).value,
                "counters": group_counters(item.members),
                "elapsed": group_elapsed(item.members, now),
                "entries": [_entry(snapshot, i, item.name + ".", now) for i in item.items]}
    shown = [m for m in item if m.state in (NodeState.RUNNING, NodeState.FAILED)]
    return {"kind": "group", "name": strip_prefix(item[0].group or item[0].step, prefix),
            "state": group_state(item).value, "counters": group_counters(item),
            "size": len(item), "elapsed": group_elapsed(item, now),
            "members": [_node(snapshot, m, m.label or strip_prefix(m.id, prefix), now)
                        for m in shown]}


def _node(snapshot: WorkflowSnapshot, node: NodeSnapshot, name: str, now: float) -> dict[str, Any]:
    gate = node.task == APPROVAL_TASK and node.state is NodeState.RUNNING
    return {"kind": "node", "name": name, "id": node.id, "step": node.step, "task": node.task,
            "state": node.state.value, "elapsed": node_elapsed(node, now),
            "attempt": node.attempt, "cleanup": node.cleanup, "detail": node.detail,
            "error": node.error, "gate": gate,
            "approve": approve_command(snapshot.id, node.id) if gate else None,
            "details": status_command(snapshot.id, node.id),
            "movement": movement_of(node.progress) if node.state is NodeState.RUNNING else None,
            "no_worker_for": no_worker_for(node, now)}
