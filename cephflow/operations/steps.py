"""Which step of a workflow a user means: by node id, step name, fan-out label or id prefix.

Kept apart from ``workflows`` because it reads only a snapshot: no engine, no Redis.
"""

from __future__ import annotations

from cephflow.engine.state import NodeState, WorkflowSnapshot
from cephflow.errors import StepNotFound


def find_node(snapshot: WorkflowSnapshot, name: str) -> str:
    """A node id from an exact id, or a step name, fan-out label or id prefix naming one node.

    A name that matches several nodes of which exactly one failed names that one: after
    a fan-out failed, ``drain`` names the member that failed. Raises StepNotFound otherwise.
    """
    if name in snapshot.nodes:
        return name
    for match in (
        lambda n: n.step == name or n.label == name,
        lambda n: n.id.startswith(name),
    ):
        found = [n.id for n in snapshot.nodes.values() if match(n)]
        if len(found) == 1:
            return found[0]
        failed = [n for n in found if snapshot.nodes[n].state is NodeState.FAILED]
        if len(failed) == 1:
            return failed[0]
        if found:
            shown = ", ".join(found[:8]) + (" ..." if len(found) > 8 else "")
            raise StepNotFound(f"{name!r} names {len(found)} steps: {shown}")
    raise StepNotFound(f"workflow {snapshot.id} has no step {name!r}")
