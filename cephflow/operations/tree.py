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
from cephflow.errors import ParamError
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


# The summary: a big workflow's tree in few rows ------------------------------------------

SUMMARY_OVER = 200
"""Steps above which the web tree is the summary (``shape="auto"``)."""
RUN_MIN = 3
"""Consecutive quiet entries from which on they are one ``run`` row."""
OPEN_LIMIT = 500
"""Entries an opened row gives per page, by default."""

Shape = str
"""``auto``, ``full`` or ``summary``: what ``outline`` gives."""


def outline_shaped(snapshot: WorkflowSnapshot, *, now: float, shape: Shape = "auto",
                   ) -> dict[str, Any]:
    """``outline`` in the shape asked for: ``full`` every entry, ``summary`` the collapsed
    tree, ``auto`` the summary for a workflow of more than SUMMARY_OVER steps.

    The summary is what the terminal's tree makes of a big workflow when it has few lines,
    decided here once so both agree: consecutive nodes of one step (a stage) are one
    ``group`` row of counters, like a fan-out; consecutive quiet rows (nothing running or
    failed, no open gate) become one ``run`` row with the counters of all their steps.
    Running and failed steps, gates and the groups that hold them stay expanded. Each
    collapsed row carries a ``key``: ``opened(snapshot, key)`` gives its entries.
    """
    summary = shape == "summary" or (
        shape == "auto" and sum(1 for n in snapshot.nodes.values() if not is_barrier(n))
        > SUMMARY_OVER)
    if not summary:
        shown = outline(snapshot, now=now)
        shown["shape"] = "full"
        return shown
    shown = outline(_header_only(snapshot), now=now)
    shown["eta"] = asdict(outlook(snapshot, now))
    shown["shape"] = "summary"
    shown["entries"] = _summary(snapshot, staged(steps_of(snapshot)), "", now)
    return shown


def _header_only(snapshot: WorkflowSnapshot) -> WorkflowSnapshot:
    return snapshot.model_copy(update={"nodes": {}})


def staged(items: list[Item]) -> list[Item]:
    """``items`` with each run of consecutive plain nodes of one step (a stage that is no
    ``foreach``) as one list, the way a fan-out's members are one."""
    out: list[Item] = []
    for item in items:
        if (isinstance(item, NodeSnapshot) and not item.cleanup and out
                and _stage_of(out[-1]) == item.step):
            last = out[-1]
            out[-1] = [*last, item] if isinstance(last, list) else [last, item]
            continue
        out.append(item)
    return out


def _stage_of(item: Item) -> str | None:
    if isinstance(item, NodeSnapshot):
        return None if item.cleanup else item.step
    if isinstance(item, list) and item[0].group is None:
        return item[0].step
    return None


def _nodes_of(item: Item) -> list[NodeSnapshot]:
    if isinstance(item, NodeSnapshot):
        return [item]
    if isinstance(item, Include):
        return item.members
    return item


def _loud(item: Item) -> bool:
    """Shown in a summary, not folded into a run: it runs (a queued or waiting step, an
    open gate too) or failed."""
    return group_state(_nodes_of(item)) in (NodeState.RUNNING, NodeState.FAILED)


def _summary(snapshot: WorkflowSnapshot, items: list[Item], prefix: str,
             now: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    start = 0
    while start < len(items):
        end = start
        while end < len(items) and not _loud(items[end]):
            end += 1
        if end - start >= RUN_MIN:
            out.append(_run(items[start:end], prefix, start, now))
        else:
            out += [_summary_entry(snapshot, items[i], prefix, i, now) for i in range(start, end)]
        if end < len(items):
            out.append(_summary_entry(snapshot, items[end], prefix, end, now))
        start = end + 1
    return out


def _summary_entry(snapshot: WorkflowSnapshot, item: Item, prefix: str, index: int,
                   now: float) -> dict[str, Any]:
    if isinstance(item, Include):
        return {"kind": "include", "name": strip_prefix(item.name, prefix),
                "state": group_state(item.members).value,
                "counters": group_counters(item.members),
                "elapsed": group_elapsed(item.members, now),
                "entries": _summary(snapshot, staged(item.items), item.name + ".", now)}
    entry = _entry(snapshot, item, prefix, now)
    if isinstance(item, list):
        entry["key"] = f"{prefix}:{index}"
    return entry


def _run(items: list[Item], prefix: str, start: int, now: float) -> dict[str, Any]:
    nodes = [n for item in items for n in _nodes_of(item)]
    first, last = (_name_of(items[0], prefix), _name_of(items[-1], prefix))
    return {"kind": "run", "name": f"{first} … {last}", "state": group_state(nodes).value,
            "counters": group_counters(nodes), "size": len(items), "steps": len(nodes),
            "elapsed": group_elapsed(nodes, now),
            "key": f"{prefix}:{start}-{start + len(items) - 1}"}


def _name_of(item: Item, prefix: str) -> str:
    if isinstance(item, NodeSnapshot):
        return strip_prefix(item.id, prefix)
    if isinstance(item, Include):
        return strip_prefix(item.name, prefix)
    return strip_prefix(item[0].group or item[0].step, prefix)


def opened(snapshot: WorkflowSnapshot, key: str, *, now: float, offset: int = 0,
           limit: int = OPEN_LIMIT) -> dict[str, Any]:
    """The entries of the collapsed row ``key`` (from a summary), ``limit`` from ``offset``:
    a run's rows (as the summary shows them: a group keeps its key), a group's members
    (every one).

    ``next`` is the offset of the following page (None: this was the last). ParamError for
    a key that names no collapsed row of this workflow.
    """
    prefix, _, where = key.rpartition(":")
    items = staged(steps_of(snapshot))
    for part in _include_path(prefix):
        found = next((i for i in items if isinstance(i, Include) and i.name == part), None)
        if found is None:
            raise ParamError(f"no collapsed row {key!r} in workflow {snapshot.id}")
        items = staged(found.items)
    try:
        low, _, high = where.partition("-")
        first, last = int(low), int(high or low)
    except ValueError:
        raise ParamError(f"{key!r} is no row key (like :3-57 or :4)") from None
    if not 0 <= first <= last < len(items):
        raise ParamError(f"no collapsed row {key!r} in workflow {snapshot.id}")
    if high:
        total = last + 1 - first
        entries = [_summary_entry(snapshot, items[i], prefix, i, now)
                   for i in range(first + offset, min(first + offset + limit, last + 1))]
    else:
        group = items[first]
        if not isinstance(group, list):
            raise ParamError(f"row {key!r} of workflow {snapshot.id} is no group")
        total = len(group)
        entries = [_node(snapshot, m, m.label or strip_prefix(m.id, prefix), now)
                   for m in group[offset:offset + limit]]
    following = offset + limit
    return {"key": key, "total": total, "offset": offset, "entries": entries,
            "next": following if following < total else None}


def _include_path(prefix: str) -> list[str]:
    """The include names a key's prefix (``a.b.``) passes through: ``a``, then ``a.b``."""
    parts = [p for p in prefix.split(".") if p]
    return [".".join(parts[:i + 1]) for i in range(len(parts))]
