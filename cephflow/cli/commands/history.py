"""``cephflow history``: who ran, approved, rejected, cancelled, resumed and retried what, and
when.

``cephflow history`` prints the newest entries of the history, oldest first; ``ID`` (a
workflow id or the start of one, also of a workflow that has expired), ``--user`` and
``--since`` narrow it; ``--json`` prints the entries as a JSON list. The history is written
by the engine as each action happens and no task can change it (``docs/history.md``).
"""

from __future__ import annotations

import typer

from cephflow.cli import console as c
from cephflow.cli.views.history_list import HistoryList
from cephflow.runbook.types import parse_duration


def _since(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(parse_duration(value))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from exc


def history(
    workflow_id: str | None = typer.Argument(
        None, metavar="ID", help="Only this workflow (an id or the start of one)."
    ),
    user: str | None = typer.Option(None, "--user", "-u", help="Only what this user did."),
    since: str | None = typer.Option(
        None, "--since", help="Only the last DURATION (90m, 2h, 7d).", metavar="DURATION"
    ),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="At most this many entries."),
    as_json: bool = typer.Option(False, "--json", help="Print the entries as JSON."),
) -> None:
    """Show who ran, approved, rejected, cancelled, resumed and retried what, and when."""
    from cephflow.cli import launch  # lazy: see cephflow.cli.commands
    from cephflow.operations import workflows

    seconds = _since(since)
    client = launch.connect(services=False)
    entries = workflows.history(client, workflow_id, user=user, since=seconds, limit=limit)
    out = c.console
    if as_json:
        out.out("[" + ",".join(e.model_dump_json() for e in entries) + "]", highlight=False)
        return
    out.print(HistoryList(entries))


def register(app: typer.Typer) -> None:
    app.command("history")(history)
