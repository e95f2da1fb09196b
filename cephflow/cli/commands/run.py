"""``cephflow run NAME --param value ...``: compile, then submit and follow (or ``--dry-run``).

With ``--dry-run`` it prints exactly what ``plan`` prints. Otherwise it hands the plan to
``cephflow.cli.launch.launch`` (submit to the engine and follow it live).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from cephflow.cli import params as cli_params
from cephflow.cli.plan_output import show_plan
from cephflow.cli.runbook_args import PASS_THROUGH, runbook_entry_command

if TYPE_CHECKING:
    from cephflow.operations.plan import Plan

RUN_OPTIONS = [
    cli_params.CommonOption("dry-run", "Compile and show the plan; submit nothing."),
    cli_params.CommonOption("detach", "Submit and return at once with the workflow id."),
    cli_params.CommonOption("json", "Machine-readable output (the DAG's JSON with --dry-run)."),
    cli_params.CommonOption("quiet", "Print only the workflow id and the outcome."),
    cli_params.CommonOption("all", "With --dry-run: show every member of large fan-outs."),
]


def _output(options: cli_params.Options) -> str:
    if options["json"]:
        return "json"
    if options["quiet"]:
        return "quiet"
    return "live"


def _action(compiled: Plan, options: cli_params.Options) -> int:
    if options["dry-run"]:
        show_plan(compiled, as_json=options["json"], full=options["all"])
        return 0
    from cephflow.cli.launch import launch  # lazy (a dry run needs no engine): see
    # cephflow.cli.commands

    return launch(compiled, detach=options["detach"], output=_output(options))


run = runbook_entry_command(command="run", common=RUN_OPTIONS, action=_action, doc="""\
Compile RUNBOOK with its params, submit it and follow it live (--dry-run: plan only).

`cephflow run RUNBOOK --help` lists the runbook's params too.
""")


def register(app: typer.Typer) -> None:
    app.command("run", context_settings=PASS_THROUGH, add_help_option=False)(run)
