"""The RUNBOOK argument of ``plan`` and ``run``, and how both turn it into a command.

``runbook_entry`` opens the runbook (``cephflow.operations.plan``), builds its command
(``cephflow.cli.params``), parses the rest of the command line with it, compiles the plan
and hands it to the command's ``action``, which renders it or submits it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer
from typer.models import ArgumentInfo

from cephflow.cli import params as cli_params
from cephflow.cli.errors import fail
from cephflow.errors import CephflowError

if TYPE_CHECKING:
    from cephflow.operations.plan import Plan

PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True}
"""The context settings of ``plan`` and ``run``: the runbook's command parses the rest."""

Action = Callable[["Plan", cli_params.Options], int]
"""What ``plan`` or ``run`` does with the compiled plan; returns the exit status."""


def runbook_argument() -> ArgumentInfo:
    """The RUNBOOK argument of ``plan`` and ``run``: a name or a file, completed by name."""
    return typer.Argument(
        None, metavar="RUNBOOK", help="A runbook name or a path to a YAML file.",
        autocompletion=cli_params.complete_runbook_names, show_default=False,
    )


def runbook_entry(ctx: typer.Context, name: str | None, *, command: str,
                  common: list[cli_params.CommonOption], action: Action) -> None:
    """Shared by plan and run: open NAME, build its command, parse the rest, call ``action``."""
    from cephflow.operations import plan as plan_ops  # lazy: see cephflow.cli.commands

    args = list(ctx.args)
    if name is None or name in ("--help", "-h"):
        typer.echo(ctx.get_help())
        raise typer.Exit(0 if name or "--help" in args or "-h" in args else 2)
    try:
        runbook = plan_ops.open_runbook(name)
    except CephflowError as exc:
        raise fail(exc) from exc

    def callback(given: cli_params.Given, options: cli_params.Options) -> None:
        try:
            code = action(plan_ops.plan(runbook, given), options)
        except CephflowError as exc:
            raise fail(exc) from exc
        if code:
            raise typer.Exit(code)

    sub = cli_params.runbook_command(runbook.loaded, command=command, common=common,
                                     callback=callback)
    cli_params.invoke(ctx, sub, args, name)
