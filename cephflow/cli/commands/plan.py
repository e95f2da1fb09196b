"""``cephflow plan NAME --param value ...`` and ``cephflow validate [FILE...]``.

``plan`` compiles a runbook with the given params and shows the DAG (a rich tree, or the
DAG's JSON with ``--json``) without submitting anything; ``run --dry-run`` shows the same.
``validate`` reports every problem of every file at once and exits 2 if there is any.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cephflow.cli import console as c
from cephflow.cli import params as cli_params
from cephflow.cli.plan_output import show_plan
from cephflow.cli.runbook_args import PASS_THROUGH, runbook_entry_command
from cephflow.runbook.library import display_path

if TYPE_CHECKING:
    from cephflow.operations.plan import Plan

PLAN_OPTIONS = [
    cli_params.CommonOption("json", "Print the compiled DAG as JSON instead of the tree."),
    cli_params.CommonOption("all", "Show every member of large fan-outs."),
]


def _action(compiled: Plan, options: cli_params.Options) -> int:
    show_plan(compiled, as_json=options["json"], full=options["all"])
    return 0


plan = runbook_entry_command(command="plan", common=PLAN_OPTIONS, action=_action, doc="""\
Compile RUNBOOK with its params (--param value ...) and show the plan; submits nothing.

`cephflow plan RUNBOOK --help` lists the runbook's params too.
""")


def validate(
    files: list[Path] = typer.Argument(
        None, metavar="[FILE]...",
        help="Runbook files or names (default: every runbook of the search path).",
        show_default=False,
    ),
) -> None:
    """Check runbooks and report every problem (file:line:col); exit status 2 if any."""
    from cephflow.operations import runbooks as runbook_ops  # lazy: see cephflow.cli.commands

    bad = checked = 0
    for verdict in runbook_ops.validate(files or ()):
        checked += 1
        if verdict.path is None:
            c.err_console.print(f"{verdict.given}: no such file or runbook", soft_wrap=True,
                                markup=False, highlight=False)
            bad += 1
        elif verdict.problems:
            bad += 1
            for problem in verdict.problems:
                c.err_console.print(str(problem), soft_wrap=True, markup=False, highlight=False)
        else:
            c.console.print(f"ok  {display_path(verdict.path.resolve())}", soft_wrap=True,
                            markup=False, highlight=False)
    if bad:
        c.err_console.print(f"{bad} of {checked} runbook(s) have problems", markup=False,
                            highlight=False)
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command("plan", context_settings=PASS_THROUGH, add_help_option=False)(plan)
    app.command("validate")(validate)
