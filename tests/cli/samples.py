"""Snapshots of a drain-like workflow in given states, built in code so each test says what it sets."""

from __future__ import annotations

from cephflow.engine.state import NodeSnapshot, NodeState, WorkflowSnapshot, WorkflowState

T0 = 1_800_000_000.0
"""A fixed submit time: views measure elapsed time from it to the ``now`` a test passes."""


def node(node_id: str, task: str = "core.log", *, state: str = "pending", group: str | None = None,
         label: str | None = None, after: list[str] | None = None, started: float | None = None,
         ended: float | None = None, detail: str | None = None, error: str | None = None,
         cleanup: bool = False, attempt: int = 0) -> NodeSnapshot:
    return NodeSnapshot(
        id=node_id, step=group or node_id, task=task, group=group, label=label, after=after or [],
        state=NodeState(state), started_at=None if started is None else T0 + started,
        ended_at=None if ended is None else T0 + ended, detail=detail, error=error,
        cleanup=cleanup, attempt=attempt,
    )


def workflow(nodes: list[NodeSnapshot], *, state: str = "running", ended: float | None = None,
             failed_node: str | None = None, groups: dict[str, int | None] | None = None,
             wf_id: str = "3f2a9c1e5b7d4c2a") -> WorkflowSnapshot:
    return WorkflowSnapshot(
        id=wf_id, runbook="drain-host", params={"host": "ceph-osd-17"}, cluster="lab",
        state=WorkflowState(state), submitted_at=T0, ended_at=None if ended is None else T0 + ended,
        failed_node=failed_node, groups=groups or {}, nodes={n.id: n for n in nodes},
    )


def drain(total: int = 120, succeeded: int = 37, running: tuple[int, ...] = (41, 42),
          failed: tuple[int, ...] = (7,)) -> WorkflowSnapshot:
    """silence ✓, check ✓, drain fan-out (some ✓, some running/failed, rest pending), wait, unsilence."""
    nodes = [
        node("silence", "alertmanager.silence", state="succeeded", started=0.1, ended=0.5),
        node("check", "ceph.health", state="succeeded", started=0.5, ended=1.7, after=["silence"]),
    ]
    done = 0
    for osd in range(total):
        nid = f"drain[osd.{osd}]"
        kw: dict = dict(group="drain", label=f"osd.{osd}", after=["check"])
        if osd in running:
            nodes.append(node(nid, "ceph.reweight", state="running", started=50,
                              detail="weight 0.40 → 0.30, 3.1% misplaced", **kw))
        elif osd in failed:
            nodes.append(node(nid, "ceph.reweight", state="failed", started=10, ended=13,
                              error="UnsafeOperation: osd.7 is not ok-to-stop\n"
                                    "  3 pgs would become inactive\n  pg 2.1f\n  pg 2.3a\n  pg 3.0", **kw))
        elif done < succeeded:
            done += 1
            nodes.append(node(nid, "ceph.reweight", state="succeeded", started=2, ended=9, **kw))
        else:
            nodes.append(node(nid, "ceph.reweight", **kw))
    nodes.append(node("wait-healthy", "ceph.wait_healthy", after=[n.id for n in nodes if n.group]))
    nodes.append(node("unsilence", "alertmanager.unsilence", cleanup=True))
    return workflow(nodes, state="failing" if failed else "running",
                    failed_node=f"drain[osd.{failed[0]}]" if failed else None)
