"""Which approval gates a decision names, and whether its maker may decide them.

``cephflow approve``/``reject`` name a gate by its node id or by its step; only nodes of the
approval task are ever decided. Who may decide follows the one rule in ``approvals``, which
the gate task applies again before it obeys a decision.
"""

from __future__ import annotations

import json
from typing import Any

from cephflow.engine.approvals import may_approve
from cephflow.engine.connection import call
from cephflow.engine.reader import WorkflowReader
from cephflow.errors import InvalidTransition, WorkflowNotFound
from cephflow.task_names import APPROVAL_TASK


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
        raise InvalidTransition(f"{user} may not decide {node_id}: its approvers are "
                                f"{', '.join(listed)}")
