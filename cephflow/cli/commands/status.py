"""``cephflow status``: list recent workflows, or attach to one and follow it to its end.

``cephflow status`` lists recent workflows; ``cephflow status ID`` attaches (live tree on a
terminal, plain lines otherwise) to a running or finished workflow and exits with the status
``follow`` gives; ``--json`` prints the snapshot instead; ``--step S`` prints one step in full.
IDs may be abbreviated to a unique prefix.
"""

from __future__ import annotations

import time

import typer

from cephflow.cli import console as c
from cephflow.cli.follow import follow
from cephflow.cli.launch import engine_client
from cephflow.cli.views.step_detail import StepDetail
from cephflow.cli.views.workflow_list import WorkflowList
from cephflow.engine.state import NodeState, WorkflowSnapshot


def find_node(snapshot: WorkflowSnapshot, name: str) -> str:
    """A node id from an exact id, or a step name, fan-out label or id prefix naming one node.

    A name that matches several nodes of which exactly one failed names that one: after
    a fan-out failed, ``--step drain`` shows the member that failed.
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
            raise typer.BadParameter(f"{name!r} names {len(found)} steps: {shown}",
                                     param_hint="--step")
    raise typer.BadParameter(f"workflow {snapshot.id} has no step {name!r}", param_hint="--step")


def status(
    workflow_id: str | None = typer.Argument(
        None, metavar="ID", help="A workflow id or a unique prefix of one; none lists recent ones."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the state as JSON instead."),
    step: str | None = typer.Option(
        None, "--step", "-s", help="Show one step in full: its arguments, detail and whole error."
    ),
    limit: int = typer.Option(20, "--limit", "-n", help="How many recent workflows to list."),
    plain: bool = typer.Option(False, "--plain", help="One line per event, even on a terminal."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only how the workflow ended."),
) -> None:
    """Show recent workflows, or follow one (Ctrl-C detaches; the workflow keeps running)."""
    # attaching starts the embedded worker too, so a workflow whose worker stopped moves on
    client = engine_client(services=workflow_id is not None and not as_json and step is None)
    out = c.console
    if workflow_id is None:
        summaries = client.list_workflows(limit)
        if as_json:
            out.out("[" + ",".join(s.model_dump_json() for s in summaries) + "]", highlight=False)
        else:
            ended = {s.id: s.ended_nodes for s in summaries}
            out.print(WorkflowList(summaries, ended=ended, now=time.time()))
        return
    full_id = client.resolve_id(workflow_id)
    if as_json or step is not None:
        snapshot = client.snapshot(full_id)
        if step is not None:
            node_id = find_node(snapshot, step)
            if as_json:
                out.out(snapshot.nodes[node_id].model_dump_json(indent=2), highlight=False)
            else:
                out.print(StepDetail(snapshot, node_id, now=time.time()), highlight=False)
        else:
            out.out(snapshot.model_dump_json(indent=2), highlight=False)
        return
    output = "quiet" if quiet else "plain" if plain or not out.is_terminal else "live"
    raise typer.Exit(follow(client, full_id, output=output, console=out))


def register(app: typer.Typer) -> None:
    app.command("status")(status)
