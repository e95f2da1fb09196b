"""Which approval gates a decision names, whether its maker may decide them, and what came of it.

``cephflow approve``/``reject`` name a gate by its node id or by its step; only nodes of the
approval task are ever decided. Who may decide follows the one rule in ``approvals``, which
the gate task applies again before it obeys a decision. When follows ``lua/decide.lua``: a
gate is decided once it is reached (queued or waiting), earlier only when the decision says
it is early, and a decision is final: deciding again changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cephflow.engine.approvals import may_approve
from cephflow.engine.connection import call
from cephflow.engine.reader import WorkflowReader
from cephflow.engine.state import NodeState
from cephflow.errors import InvalidTransition, NotAnApprover, WorkflowNotFound
from cephflow.hints import approve_command, reject_command
from cephflow.task_names import APPROVAL_TASK


@dataclass(frozen=True)
class GateDecision:
    """The decision a gate holds after ``approve``/``reject``: this one, or an earlier one."""

    node: str
    decision: str
    """``approved`` or ``rejected``."""
    by: str
    at: float
    """When it was decided (epoch seconds)."""
    reason: str | None = None
    early: bool = False
    """Decided before the gate was reached; the gate obeys it when it is."""
    already: bool = False
    """The gate held this decision already: nothing was recorded now."""

    @classmethod
    def from_record(cls, node: str, record: dict[str, Any], *, already: bool) -> GateDecision:
        return cls(node, str(record.get("decision", "?")), str(record.get("by", "?")),
                   float(record.get("at") or 0.0), record.get("reason"),
                   bool(record.get("early", False)), already)


def not_reached(wf: str, node_id: str, decision: str) -> InvalidTransition:
    """The refusal of a decision on a gate that is not reached yet, and how to give it early."""
    command = approve_command(wf, node_id) if decision == "approved" else (
        reject_command(wf, node_id) + " --reason '...'")
    return InvalidTransition(
        f"workflow {wf}: gate {node_id} is not reached yet; to decide it in advance: "
        f"{command} --early")


def decided_otherwise(wf: str, earlier: GateDecision) -> InvalidTransition:
    """The refusal of a decision that contradicts the one a gate holds (a decision is final)."""
    return InvalidTransition(
        f"workflow {wf}: gate {earlier.node} was already {earlier.decision} by {earlier.by}; "
        "a decision is final")


def gate_nodes(reader: WorkflowReader, wf: str, target: str) -> list[tuple[str, dict[str, Any]]]:
    """The approval gates ``target`` names, with their arguments.

    ``target`` is a gate's node id, or a step name: the open gates of that step. A step
    with an ``approval:`` shorthand shares its name with the gate the compiler put before
    it (``approve-<step>``); the step's own node is never decided, only its gate.
    """
    wk = reader.workflow_keys(wf)
    if not call(lambda: reader.redis.exists(wk.meta)):
        raise WorkflowNotFound(f"no workflow {wf!r}")
    raw = call(lambda: reader.redis.hget(wk.spec, target))
    if raw is not None:
        spec = json.loads(raw)
        if spec.get("task") == APPROVAL_TASK:
            return [(target, spec.get("args", {}))]
    snap = reader.snapshot(wf)
    found = [(n.id, n.args) for n in snap.nodes.values()
             if n.step == target and n.task == APPROVAL_TASK and not n.state.terminal]
    if not found:  # its gates have ended: the decided ones say what they were decided
        ended = [(n.id, n.args) for n in snap.nodes.values()
                 if n.step == target and n.task == APPROVAL_TASK]
        found = [gate for gate in ended if decision_of(reader, wf, gate[0]) is not None]
    if not found:
        gates = [n for n in snap.nodes.values() if n.task == APPROVAL_TASK]
        open_gates = sorted({n.step for n in gates if not n.state.terminal})
        if open_gates:
            hint = f"; open approval steps: {', '.join(open_gates)}"
        elif gates:
            hint = "; its approval steps have all ended"
        else:
            hint = "; it has no approval steps"
        raise InvalidTransition(
            f"workflow {wf}: {target!r} names no open approval gate{hint}")
    return found


def check_approver(approvers: Any, user: str, node_id: str) -> None:
    """Refuse a decision by someone the gate does not list (rule: ``approvals.may_approve``)."""
    if not may_approve(user, approvers):
        listed = [approvers] if isinstance(approvers, str) else list(map(str, approvers))
        raise NotAnApprover(f"{user} may not decide {node_id}: its approvers are "
                                f"{', '.join(listed)}")


def check_reached(reader: WorkflowReader, wf: str, node_ids: list[str], decision: str) -> None:
    """Refuse (``not_reached``) when a gate is pending and holds no decision yet.

    A convenience before deciding several gates, so that none is decided when one would be
    refused; ``lua/decide.lua`` checks each gate again as it decides it.
    """
    states = call(lambda: reader.redis.hmget(reader.workflow_keys(wf).state, node_ids))
    for node_id, state in zip(node_ids, states, strict=True):
        if state == NodeState.PENDING and decision_of(reader, wf, node_id) is None:
            raise not_reached(wf, node_id, decision)


def decision_of(reader: WorkflowReader, wf: str, node_id: str) -> dict[str, Any] | None:
    """The decision recorded for gate ``node_id`` (the fact ``approval:<node>``), if any."""
    raw = call(lambda: reader.redis.hget(reader.workflow_keys(wf).facts, f"approval:{node_id}"))
    return json.loads(raw) if raw is not None else None
