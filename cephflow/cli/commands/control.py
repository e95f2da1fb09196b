"""``cephflow approve|reject|cancel|resume ID ...``: decide gates and steer workflows.

IDs may be abbreviated to a unique prefix. Decisions are recorded with the OS user who typed
them; a gate that names its approvers accepts only them.
"""

from __future__ import annotations

import typer

from cephflow.cli import console as c

ID_ARG = typer.Argument(..., metavar="ID", help="A workflow id or a unique prefix of one.")


def _client():
    """The engine's client; on the embedded default the local worker is started if it is not
    running, so that what the command unblocks (a gate, the finally steps) actually runs."""
    from cephflow.cli.launch import engine_client

    return engine_client(services=True)


def approve(
    workflow_id: str = ID_ARG,
    step: str = typer.Argument(..., metavar="STEP", help="The gate: a step or node id."),
) -> None:
    """Approve the approval gate STEP of workflow ID."""
    client = _client()
    wf = client.resolve_id(workflow_id)
    for node in client.approve(wf, step):
        c.console.print(f"approved {node} of workflow {wf}", highlight=False, soft_wrap=True)


def reject(
    workflow_id: str = ID_ARG,
    step: str = typer.Argument(..., metavar="STEP", help="The gate: a step or node id."),
    reason: str = typer.Option(..., "--reason", "-r", help="Why (kept with the decision)."),
) -> None:
    """Reject the approval gate STEP of workflow ID (the step fails with the reason)."""
    client = _client()
    wf = client.resolve_id(workflow_id)
    for node in client.reject(wf, step, reason=reason):
        c.console.print(f"rejected {node} of workflow {wf}: {reason}", highlight=False,
                        soft_wrap=True)


def cancel(workflow_id: str = ID_ARG) -> None:
    """Cancel workflow ID: nothing new starts, running steps finish, finally steps run."""
    client = _client()
    wf = client.resolve_id(workflow_id)
    client.cancel(wf)
    c.console.print(f"workflow {wf} cancelling; its finally steps run next", highlight=False)
    left = client.left_changes(wf)
    if left:
        c.console.print("left as they are (cancel does not undo them; `cephflow resume "
                        f"{wf}` continues from there):", highlight=False, soft_wrap=True)
        for change in left:
            c.console.print(f"  {change}", highlight=False, markup=False, soft_wrap=True)


def resume(
    workflow_id: str = ID_ARG,
    detach: bool = typer.Option(False, "--detach", help="Resume and return at once."),
    plain: bool = typer.Option(False, "--plain", help="One line per event."),
) -> None:
    """Re-run a failed or cancelled workflow from its failed steps, then follow it."""
    from cephflow.cli.launch import engine_client, follow_workflow

    client = engine_client(services=True)
    wf = client.resolve_id(workflow_id)
    client.resume(wf)
    c.console.print(f"workflow {wf} resumed", highlight=False)
    if detach:
        return
    output = "plain" if plain or not c.console.is_terminal else "live"
    raise typer.Exit(follow_workflow(client, wf, output=output))


def register(app: typer.Typer) -> None:
    app.command("approve")(approve)
    app.command("reject")(reject)
    app.command("cancel")(cancel)
    app.command("resume")(resume)
