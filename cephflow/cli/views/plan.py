"""The plan view: a compiled DAG as a rich tree (a pure function: DAG in, renderable out).

Nodes appear in the DAG's (topological) order. A fan-out is one branch with a member per
item; a dependency on every member of a fan-out is shown as ``work[*]``. Destructive tasks
are marked, skipped nodes are shown struck through with the reason, and the ``finally``
nodes sit in their own branch. What is decided when a step becomes ready is said so: ``runs
if <condition>``, ``needs <steps>``, arguments shown as their templates, and a fan-out over a
step's output as one line (its members are not known yet). Everything is built from ``Text`` objects, never markup, so a
``[`` in an argument or a node id prints as itself. Secret arguments are shown redacted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from rich.console import Group as RenderGroup
from rich.text import Text
from rich.tree import Tree

from cephflow.cli.views.prediction import movements, render_movement
from cephflow.cli.views.style import shown_cluster
from cephflow.runbook.barrier import is_barrier, step_count
from cephflow.runbook.catalog import TaskSpec
from cephflow.runbook.dag import Dag, Node
from cephflow.task_names import APPROVAL_TASK

GROUP_PREVIEW = 10
"""Members shown of a large fan-out unless ``full``."""
GROUP_FULL_UP_TO = 20
"""Fan-outs up to this size are always shown whole."""


def _value(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _duration(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _args(node: Node) -> Text:
    text = Text()
    for key, value in node.args.items():
        text.append(" ")
        text.append(key, style="cyan")
        text.append("=")
        text.append(_value(value))
    if node.late is not None and node.late.args:
        for key, value in node.late.args.items():
            text.append(" ")
            text.append(key, style="cyan")
            text.append("=")
            text.append(value if isinstance(value, str) else _value(value), style="italic")
        text.append(" (decided at run time)", style="dim")
    return text


def _late(node: Node) -> Text:
    """What the node decides when it becomes ready: its ``if:`` and ``needs:``."""
    text = Text()
    if node.late is None:
        return text
    if node.late.condition_text is not None:
        text.append(f"  runs if {node.late.condition_text}", style="yellow")
    if node.late.needs:
        text.append("  needs " + ", ".join(node.late.needs), style="yellow")
    return text


def _expand(node: Node) -> Text:
    """A fan-out over a step's output: what it goes over, decided when it is ready."""
    text = Text()
    if node.expand is None:
        return text
    text.append(f"  fan-out over {node.expand.source} (decided at run time)", style="bold")
    if node.expand.concurrency:
        text.append(f"  ({node.expand.concurrency} at a time)", style="magenta")
    return text


def _collapse(after: list[str], members: Mapping[str, set[str]]) -> list[str]:
    """``after`` with every complete fan-out replaced by ``group[*]``."""
    wanted = set(after)
    shown: list[str] = []
    covered: set[str] = set()
    for ids in members.values():
        if len(ids) > 1 and ids <= wanted:
            covered |= ids
    done_groups: set[str] = set()
    for dep in after:
        if dep in covered:
            group = next(g for g, ids in members.items() if dep in ids and ids <= wanted)
            if group not in done_groups:
                done_groups.add(group)
                shown.append(f"{group}[*]")
        else:
            shown.append(dep)
    return shown


def _traits(node: Node, spec: TaskSpec | None, members: Mapping[str, set[str]],
            *, show_after: bool = True) -> Text:
    text = Text()
    if spec is not None and spec.destructive:
        text.append(" ⚠ destructive", style="bold red")
    if node.task == APPROVAL_TASK:
        text.append(" ⏸ approval", style="bold yellow")
    if node.retry.attempts > 1:
        text.append(f" retry×{node.retry.attempts}", style="magenta")
    if node.timeout is not None:
        text.append(f" timeout {_duration(node.timeout)}", style="magenta")
    if show_after and node.after:
        text.append("  after: " + ", ".join(_collapse(node.after, members)), style="dim")
    return text


def _line(node: Node, spec: TaskSpec | None, members: Mapping[str, set[str]],
          *, name: str | None = None, with_task: bool = True, show_after: bool = True) -> Text:
    text = Text()
    text.append(name or node.id, style="bold" if not node.skip else "dim strike")
    if with_task:
        text.append(f"  {node.task}", style="green" if not node.skip else "dim")
    text.append_text(_expand(node))
    if with_task:
        text.append_text(_traits(node, spec, members, show_after=show_after))
    elif show_after and node.after:
        text.append("  after: " + ", ".join(_collapse(node.after, members)), style="dim")
    if node.skip:
        text.append("  skipped (when is false)", style="yellow")
    text.append_text(_late(node))
    text.append_text(_args(node))
    return text


def render_plan(dag: Dag, *, catalog: Mapping[str, TaskSpec] | None = None,
                full: bool = False, cluster: str | None = None) -> Tree:
    """The plan of ``dag`` (pass the redacted DAG) as a tree under a two-line header."""
    catalog = catalog or {}
    members: dict[str, set[str]] = {}
    for n in dag.nodes:
        if n.group:
            members.setdefault(n.group, set()).add(n.id)

    title = Text()
    title.append(dag.runbook, style="bold")
    if dag.description:
        title.append(f" — {dag.description}")
    header = Text()
    if shown_cluster(cluster):
        header.append(f"cluster: {cluster}   ", style="dim")
    header.append(f"{step_count(dag.nodes)} steps", style="dim")
    if dag.params:
        header.append("   params:", style="dim")
        for key, value in dag.params.items():
            if value is None:  # an optional param left out: "host=null" says nothing
                continue
            header.append(f" {key}=", style="dim")
            header.append(_value(value))
    if dag.locks:
        header.append("   locks: ", style="dim")
        header.append(", ".join(dag.locks))

    predicted = [render_movement(answer) for _, answer in movements(dag.discovered)]
    tree = Tree(RenderGroup(title, header, *predicted))
    cleanup_branch: Tree | None = None
    drawn: set[str] = set()
    by_group: dict[str, list[Node]] = {}
    for n in dag.nodes:
        if n.group:
            by_group.setdefault(n.group, []).append(n)

    for node in dag.nodes:
        if node.id in drawn or is_barrier(node):
            continue  # a barrier between fan-outs: its dependents already say "after: x[*]"
        parent = tree
        if node.cleanup:
            if cleanup_branch is None:
                cleanup_branch = tree.add(Text("finally (always runs at the end)", style="bold"))
            parent = cleanup_branch
        spec = catalog.get(node.task)
        if node.group and node.group in by_group:
            group_nodes = by_group[node.group]
            head = Text()
            head.append(f"{node.group} × {len(group_nodes)}", style="bold")
            head.append(f"  {node.task}", style="green")
            group = dag.groups.get(node.group)
            if group and group.concurrency:
                head.append(f"  ({group.concurrency} at a time)", style="magenta")
            skipped = sum(1 for n in group_nodes if n.skip)
            if skipped:
                head.append(f"  {skipped} skipped", style="yellow")
            head.append_text(_traits(node, spec, members))
            head.append_text(_late(node))
            branch = parent.add(head)
            shown = group_nodes
            if not full and len(group_nodes) > GROUP_FULL_UP_TO:
                shown = group_nodes[:GROUP_PREVIEW]
            for member in shown:
                branch.add(_line(member, spec, members, name=f"[{member.label}]",
                                 with_task=False, show_after=member.after != node.after))
            if len(shown) < len(group_nodes):
                branch.add(Text(f"… and {len(group_nodes) - len(shown)} more "
                                "(--all shows every node, --json the whole DAG)", style="dim"))
            drawn.update(n.id for n in group_nodes)
            continue
        parent.add(_line(node, spec, members))
        drawn.add(node.id)
    return tree
