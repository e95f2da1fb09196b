"""Glyphs, colours and number formats shared by the views, so every view speaks alike.

Not a renderable: small pure helpers. Glyphs are distinct without colour, because logs,
CI output and the golden tests see no colour at all.
"""

from __future__ import annotations

from cephflow.engine.state import NodeState, WorkflowState
from cephflow.settings import Settings

DEFAULT_CLUSTER: str = Settings.model_fields["cluster_name"].default
"""The cluster name nobody chose: not worth a word on every screen."""

NODE_GLYPH: dict[NodeState, str] = {
    NodeState.PENDING: "○",
    NodeState.QUEUED: "◌",
    NodeState.RUNNING: "▶",
    NodeState.SUCCEEDED: "✓",
    NodeState.FAILED: "✗",
    NodeState.SKIPPED: "↷",
    NodeState.CANCELLED: "⊘",
}

NODE_STYLE: dict[NodeState, str] = {
    NodeState.PENDING: "dim",
    NodeState.QUEUED: "cyan",
    NodeState.RUNNING: "bold yellow",
    NodeState.SUCCEEDED: "green",
    NodeState.FAILED: "bold red",
    NodeState.SKIPPED: "dim",
    NodeState.CANCELLED: "magenta",
}

WORKFLOW_NODE_STATE: dict[WorkflowState, NodeState] = {
    WorkflowState.RUNNING: NodeState.RUNNING,
    WorkflowState.FAILING: NodeState.FAILED,
    WorkflowState.CANCELLING: NodeState.CANCELLED,
    WorkflowState.SUCCEEDED: NodeState.SUCCEEDED,
    WorkflowState.FAILED: NodeState.FAILED,
    WorkflowState.CANCELLED: NodeState.CANCELLED,
}
"""A workflow state shown with the glyph and colour of the node state it resembles."""


def workflow_glyph(state: WorkflowState) -> str:
    return NODE_GLYPH[WORKFLOW_NODE_STATE[state]]


def workflow_style(state: WorkflowState) -> str:
    return NODE_STYLE[WORKFLOW_NODE_STATE[state]]


def duration(seconds: float | None) -> str:
    """``0.4s``, ``12s``, ``1m02s``, ``1h03m``: short, and precise where precision helps."""
    if seconds is None:
        return ""
    seconds = max(seconds, 0.0)
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def short_id(workflow_id: str) -> str:
    """The first 8 characters: enough to be unique among recent workflows, and a valid prefix."""
    return workflow_id[:8]


def shown_cluster(cluster: str | None) -> str | None:
    """The cluster name when it says something (not unset, not the default ``ceph``)."""
    return cluster if cluster and cluster != DEFAULT_CLUSTER else None


def params_text(params: dict[str, object]) -> str:
    """``host=ceph-osd-17 osds=1,2``: the params that have a value, as a command line writes
    them (no ``None``, no Python ``False`` or ``[1, 2]``)."""
    return " ".join(f"{key}={_value(value)}" for key, value in params.items()
                    if value is not None and value != [])


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(_value(v) for v in value)
    return str(value)


