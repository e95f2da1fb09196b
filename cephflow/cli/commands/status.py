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
from cephflow.cli.views.step_detail import StepDetail
from cephflow.cli.views.workflow_list import WorkflowList
from cephflow.errors import StepNotFound


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
    cluster: str | None = typer.Option(
        None, "--cluster", metavar="NAME",
        help="List only the workflows of this cluster (default: every cluster's)."),
) -> None:
    """Show recent workflows, or follow one (Ctrl-C detaches; the workflow keeps running)."""
    from cephflow.cli import launch  # lazy: see cephflow.cli.commands
    from cephflow.operations import workflows

    # attaching starts the embedded worker too, so a workflow whose worker stopped moves on;
    # every form starts again a worker that died
    client = launch.connect(services=workflow_id is not None and not as_json and step is None)
    out = c.console
    if workflow_id is None:
        summaries = workflows.list_workflows(
            client, limit, filters=workflows.cluster_filter(cluster))
        if as_json:
            out.out("[" + ",".join(s.model_dump_json() for s in summaries) + "]", highlight=False)
        else:
            ended = {s.id: s.ended_nodes for s in summaries}
            out.print(WorkflowList(summaries, ended=ended, now=time.time()))
        return
    if step is not None:
        try:
            snapshot, node_id = workflows.step(client, workflow_id, step)
        except StepNotFound as exc:
            raise typer.BadParameter(str(exc), param_hint="--step") from exc
        if as_json:
            out.out(snapshot.nodes[node_id].model_dump_json(indent=2), highlight=False)
        else:
            out.print(StepDetail(snapshot, node_id, now=time.time()), highlight=False)
        return
    if as_json:
        out.out(workflows.snapshot(client, workflow_id).model_dump_json(indent=2),
                highlight=False)
        return
    full_id = workflows.resolve(client, workflow_id)
    output = "quiet" if quiet else "plain" if plain or not out.is_terminal else "live"
    raise typer.Exit(follow(client, full_id, output=output, console=out))


def register(app: typer.Typer) -> None:
    app.command("status")(status)
