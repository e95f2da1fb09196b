"""``cephflow runbooks`` (list them with descriptions) and ``cephflow runbooks show NAME``."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from cephflow.cli import console as c
from cephflow.cli import params as cli_params
from cephflow.cli.errors import fail
from cephflow.errors import CephflowError
from cephflow.runbook import library

runbooks_app = typer.Typer(
    name="runbooks",
    help="List the runbooks cephflow can run, or show one.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@runbooks_app.callback(invoke_without_command=True)
def list_runbooks(ctx: typer.Context) -> None:
    """List the runbooks of the search path with their descriptions."""
    if ctx.invoked_subcommand is not None:
        return
    from cephflow.operations import runbooks as runbook_ops  # lazy: see cephflow.cli.commands

    entries = runbook_ops.list_runbooks()
    if not entries:
        where = ", ".join(str(p) for p in runbook_ops.search_path())
        c.console.print("no runbooks found in " + where, markup=False)
        return
    table = Table(box=None, show_header=True, pad_edge=False)
    table.add_column("runbook", style="bold", no_wrap=True)
    table.add_column("description")
    for entry in entries:
        if entry.problem is not None:
            description = Text(f"invalid: {entry.problem}", style="red")
        else:
            description = Text(entry.description or "")
        if not entry.shipped:
            description.append(f"  ({library.display_path(entry.path)})", style="dim")
        table.add_row(Text(entry.name), description)
    c.console.print(table)


@runbooks_app.command("show")
def show(
    name: str = typer.Argument(
        ..., metavar="RUNBOOK", help="A runbook name or a path to a YAML file.",
        autocompletion=cli_params.complete_runbook_names,
    ),
) -> None:
    """Show a runbook: its params (with types, defaults and help), lookups, locks and steps."""
    from cephflow.operations import runbooks as runbook_ops  # lazy: see cephflow.cli.commands

    try:
        loaded = runbook_ops.show_runbook(name)
    except CephflowError as exc:
        raise fail(exc) from exc
    decl = loaded.decl
    title = Text(decl.name, style="bold")
    if decl.description:
        title.append(f" — {decl.description}", style="")
    c.console.print(title)
    c.console.print(Text(f"file: {loaded.file}", style="dim"))

    params = Table(title="params", title_justify="left", box=None, pad_edge=False)
    for column in ("option", "type", "default", "help"):
        params.add_column(column)
    for pname, p in decl.params.items():
        if p.secret:
            default = "(secret)"
        elif p.is_required:
            default = "required"
        else:
            default = "" if p.default is None else str(p.default)
        kind = p.type + (f" ({', '.join(str(x) for x in p.choices)})" if p.choices else "")
        params.add_row(Text(cli_params.option_name(pname)), Text(kind), Text(default),
                       Text(p.help))
    if decl.params:
        c.console.print(params)
    if decl.discover:
        c.console.print(Text("discover", style="italic"))
        for dname, d in decl.discover.items():
            c.console.print(Text(f"  {dname} = {d.lookup}({', '.join(d.with_)})"))
    if decl.locks:
        c.console.print(Text("locks: " + ", ".join(decl.locks)))
    for section, steps in (("steps", decl.steps), ("finally", decl.finally_)):
        if not steps:
            continue
        table = Table(title=section, title_justify="left", box=None, pad_edge=False)
        for column in ("id", "task", "after", "notes"):
            table.add_column(column)
        for s in steps:
            notes = []
            if s.foreach is not None:
                notes.append(f"foreach {s.as_} in {s.foreach}")
            if s.when is not None:
                notes.append(f"when {s.when}")
            if s.approval:
                notes.append("approval gate")
            table.add_row(Text(s.id), Text(s.task or f"include {s.include}"),
                          Text(", ".join(s.after)), Text("; ".join(notes)))
        c.console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(runbooks_app)
