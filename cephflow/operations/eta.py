"""How long a running workflow has left, from time: known waits and what steps took.

Counting ended steps says nothing about time: one ``core.sleep 600`` among ten quick steps
made the old ETA "2.8s". Here every open step gets its own estimate: a wait (``core.sleep``)
has what is left of its ``seconds``; a running weight move the ETA its pacing measured from
Ceph's recovery rate (``progress.movement.eta_seconds``: the data moving now); any other
step the mean time the workflow's ended steps took (none ended yet: unknown). A fan-out's members share its concurrency; the rest
is added up. A person has no estimate: an open gate makes the outlook "waiting for
approval", and one still ahead is named after the estimate instead of being guessed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from cephflow.ceph.pacing import movement_of
from cephflow.engine.state import NodeSnapshot, NodeState, WorkflowSnapshot, WorkflowState
from cephflow.runbook.barrier import is_barrier
from cephflow.task_names import APPROVAL_TASK

WAIT_TASK = "core.sleep"
"""The task whose duration is its ``seconds`` argument."""


@dataclass(frozen=True)
class Outlook:
    """What the header says about the time left."""

    seconds: float | None
    """Estimated seconds left; None when unknown or not estimated."""
    waiting_for_approval: bool = False
    """A gate is open: the workflow waits for a person, however long that takes."""
    gate_ahead: bool = False
    """An approval gate is still to come: ``seconds`` stops there."""


def _is_wait(node: NodeSnapshot) -> bool:
    return node.task == WAIT_TASK and isinstance(node.args.get("seconds"), int | float)


def _mean_step(snapshot: WorkflowSnapshot) -> float | None:
    """Mean time the ended ordinary steps took (waits, gates and barriers left out)."""
    took = [n.ended_at - n.started_at for n in snapshot.nodes.values()
            if n.state is NodeState.SUCCEEDED and n.started_at is not None
            and n.ended_at is not None and not _is_wait(n) and n.task != APPROVAL_TASK
            and not is_barrier(n)]
    return sum(took) / len(took) if took else None


def _left(node: NodeSnapshot, now: float, mean: float | None) -> float | None:
    """Seconds ``node`` still needs; None when nothing is known to estimate it by."""
    took = now - node.started_at if node.state is NodeState.RUNNING and node.started_at else 0.0
    if _is_wait(node):
        return max(0.0, float(node.args["seconds"]) - took)
    movement = movement_of(node.progress) if node.state is NodeState.RUNNING else None
    if movement is not None and movement.get("eta_seconds") is not None:
        return float(movement["eta_seconds"])
    if mean is None or took >= mean:  # running past what steps took: no honest guess
        return None
    return mean - took


def outlook(snapshot: WorkflowSnapshot, now: float) -> Outlook:
    """The time left of ``snapshot`` at ``now`` (see the module docstring)."""
    if snapshot.state.terminal or snapshot.state in (WorkflowState.FAILING,
                                                     WorkflowState.CANCELLING):
        return Outlook(None)
    open_nodes = [n for n in snapshot.nodes.values() if not n.state.terminal and not is_barrier(n)]
    gates = [n for n in open_nodes if n.task == APPROVAL_TASK]
    if any(g.state is NodeState.RUNNING for g in gates):
        return Outlook(None, waiting_for_approval=True)
    mean = _mean_step(snapshot)
    alone = 0.0
    grouped: dict[str, list[float]] = defaultdict(list)
    for node in open_nodes:
        if node.task == APPROVAL_TASK:
            continue
        left = _left(node, now, mean)
        if left is None:
            return Outlook(None, gate_ahead=bool(gates))
        if node.group:
            grouped[node.group].append(left)
        else:
            alone += left
    for group, lefts in grouped.items():
        limit = snapshot.groups.get(group) or len(lefts)
        alone += max(max(lefts), sum(lefts) / min(limit, len(lefts)))
    return Outlook(alone, gate_ahead=bool(gates))
