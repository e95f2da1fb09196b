"""``cephflow approve|reject|cancel|resume|retry|pause|unpause ID ...``: decide gates and
steer workflows.

IDs may be abbreviated to a unique prefix. Decisions are recorded with the OS user who typed
them; a gate that names its approvers accepts only them. A gate is decided once it is reached
(``--early`` decides it before), and only once: deciding it again says who did. Each command connects with the
embedded services started (on the default), so that what it unblocks (a gate, the finally
steps) actually runs.
"""

from __future__ import annotations

import typer

from cephflow.cli import console as c
from cephflow.cli.follow import follow
from cephflow.cli.views.decision import decision_line

ID_ARG = typer.Argument(..., metavar="ID", help="A workflow id or a unique prefix of one.")


EARLY_OPT = typer.Option(
    False, "--early",
    help="Decide a gate that is not reached yet; it obeys the decision when it is.")


def approve(
    workflow_id: str = ID_ARG,
    step: str = typer.Argument(..., metavar="STEP", help="The gate: a step or node id."),
    early: bool = EARLY_OPT,
) -> None:
    """Approve the approval gate STEP of workflow ID (once it waits, or with --early)."""
    from cephflow.cli import launch  # lazy: see cephflow.cli.commands
    from cephflow.operations import workflows

    decision = workflows.approve(launch.connect(), workflow_id, step, early=early)
    for gate in decision.gates:
        c.console.print(decision_line(decision.workflow_id, gate), highlight=False,
                        soft_wrap=True)


def reject(
    workflow_id: str = ID_ARG,
    step: str = typer.Argument(..., metavar="STEP", help="The gate: a step or node id."),
    reason: str = typer.Option(..., "--reason", "-r", help="Why (kept with the decision)."),
    early: bool = EARLY_OPT,
) -> None:
    """Reject the approval gate STEP of workflow ID (the step fails with the reason)."""
    from cephflow.cli import launch  # lazy: see cephflow.cli.commands
    from cephflow.operations import workflows

    decision = workflows.reject(launch.connect(), workflow_id, step, reason=reason,
                                early=early)
    for gate in decision.gates:
        c.console.print(decision_line(decision.workflow_id, gate), highlight=False,
                        soft_wrap=True)


def cancel(workflow_id: str = ID_ARG) -> None:
    """Cancel workflow ID: nothing new starts, running steps finish, finally steps run."""
    from cephflow.cli import launch  # lazy: see cephflow.cli.commands
    from cephflow.operations import workflows

    cancelled = workflows.cancel(launch.connect(), workflow_id)
    wf = cancelled.workflow_id
    c.console.print(f"workflow {wf} cancelling; its finally steps run next", highlight=False)
    if cancelled.left:
        c.console.print("left as they are (cancel does not undo them; `cephflow resume "
                        f"{wf}` continues from there):", highlight=False, soft_wrap=True)
        for change in cancelled.left:
            c.console.print(f"  {change}", highlight=False, markup=False, soft_wrap=True)


def resume(
    workflow_id: str = ID_ARG,
    from_step: str | None = typer.Option(
        None, "--from", metavar="STEP",
        help="Run STEP (a step id, or one node id such as drain\\[osd.3]) and every step after "
             "it again, whatever they did; the workflow may also have succeeded."),
    detach: bool = typer.Option(False, "--detach", help="Resume and return at once."),
    plain: bool = typer.Option(False, "--plain", help="One line per event."),
) -> None:
    """Re-run a failed or cancelled workflow from its failed steps, then follow it.

    Steps that succeeded are kept, except the set-up steps (silences, noout) that the finally steps undid, before a step that runs again; the finally steps run again. A paused workflow is unpaused instead (as `cephflow unpause ID`).
    """
    from cephflow.cli import launch  # lazy: see cephflow.cli.commands
    from cephflow.operations import pause as pausing

    client = launch.connect()
    done = pausing.resume(client, workflow_id, from_step=from_step)
    if done.unpaused is not None:
        _say_unpaused(done.unpaused)
        _follow(client, done.workflow_id, detach, plain)
        return
    wf = done.workflow_id
    said = f" from step {from_step}" if from_step else ""
    c.console.print(f"workflow {wf} resumed{said}", highlight=False, markup=False)
    _follow(client, wf, detach, plain)


def retry(
    workflow_id: str = ID_ARG,
    step: str = typer.Argument(..., metavar="STEP",
                               help="The failed step: a step id or one node id."),
    detach: bool = typer.Option(False, "--detach", help="Retry and return at once."),
    plain: bool = typer.Option(False, "--plain", help="One line per event."),
) -> None:
    """Re-run the failed step STEP of workflow ID and the steps it stopped, then follow it.

    Other failed steps stay failed (the workflow then ends failed again; `resume` re-runs them all); the finally steps run again.
    """
    from cephflow.cli import launch  # lazy: see cephflow.cli.commands
    from cephflow.operations import workflows

    client = launch.connect()
    wf = workflows.retry(client, workflow_id, step)
    c.console.print(f"workflow {wf}: step {step} retried", highlight=False, markup=False)
    _follow(client, wf, detach, plain)


def pause(
    workflow_id: str = ID_ARG,
    reason: str = typer.Option("", "--reason", "-r", help="Why (shown with the pause, kept "
                               "in the history)."),
) -> None:
    """Pause workflow ID: no new step starts, and its data movement freezes.

    Running steps finish; waiting steps stop checking; finally steps still run. A runbook that moves data also gets norebalance and nobackfill, set only where not set already and lifted again by unpause or its finally steps (never an operator's). Its silences are extended. `cephflow unpause ID` (or `resume ID`) lifts it.
    """
    from cephflow.cli import launch  # lazy: see cephflow.cli.commands
    from cephflow.cli.views.pause_line import pause_text
    from cephflow.operations import pause as pausing

    paused = pausing.pause(launch.connect(), workflow_id, reason=reason)
    wf = paused.workflow_id
    said = "was already" if paused.already else "is"
    c.console.print(f"workflow {wf} {said} {pause_text(paused.pause)}", highlight=False,
                    markup=False, soft_wrap=True)
    if paused.flags:
        c.console.print(f"data movement frozen: {', '.join(paused.flags)} set by this "
                        "workflow (unpause lifts them)", highlight=False, markup=False)
    if paused.left:
        c.console.print(f"already set by someone else, left as they are: "
                        f"{', '.join(paused.left)}", highlight=False, markup=False)
    if not paused.moves_data:
        c.console.print("its runbook moves no data: only its steps are held", highlight=False,
                        markup=False)
    for name, until in paused.silences:
        c.console.print(f"downtime {name!r} lasts until {_utc(until)}", highlight=False,
                        markup=False)
    for error in paused.silence_errors:
        c.console.print(f"could not extend {error}", style="yellow", highlight=False,
                        markup=False, soft_wrap=True)


def unpause(
    workflow_id: str = ID_ARG,
    detach: bool = typer.Option(True, "--detach/--follow",
                                help="Return at once (default), or follow the workflow."),
    plain: bool = typer.Option(False, "--plain", help="One line per event."),
) -> None:
    """Lift the pause of workflow ID: clear the flags its pause set, start the held steps."""
    from cephflow.cli import launch  # lazy: see cephflow.cli.commands
    from cephflow.operations import pause as pausing

    client = launch.connect()
    unpaused = pausing.unpause(client, workflow_id)
    _say_unpaused(unpaused)
    _follow(client, unpaused.workflow_id, detach, plain)


def _say_unpaused(unpaused) -> None:
    lifted = f"; {', '.join(unpaused.lifted)} cleared" if unpaused.lifted else ""
    c.console.print(f"workflow {unpaused.workflow_id} unpaused: {unpaused.sent} held steps "
                    f"sent{lifted}", highlight=False, markup=False)


def _utc(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _follow(client, wf: str, detach: bool, plain: bool) -> None:
    if detach:
        return
    output = "plain" if plain or not c.console.is_terminal else "live"
    raise typer.Exit(follow(client, wf, output=output))


def register(app: typer.Typer) -> None:
    app.command("approve")(approve)
    app.command("reject")(reject)
    app.command("cancel")(cancel)
    app.command("resume")(resume)
    app.command("retry")(retry)
    app.command("pause")(pause)
    app.command("unpause")(unpause)
