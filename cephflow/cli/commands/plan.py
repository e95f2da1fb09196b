"""``cephflow plan NAME --param value ...`` and ``cephflow validate [FILE...]``.

``plan`` compiles a runbook with the given params and shows the DAG (a rich tree, or the
DAG's JSON with ``--json``) without submitting anything; ``run --dry-run`` shows the same.
``validate`` reports every problem of every file at once and exits 2 if there is any.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import typer

from cephflow.cli import params as cli_params
from cephflow.errors import CephflowError, Problem, RunbookError, RunbookNotFound

PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True}


def load_tasks() -> None:
    """Fill the task catalog (every module of ``cephflow.tasks``)."""
    from cephflow import tasks

    tasks.load_all()


def fail(exc: CephflowError) -> typer.Exit:
    from cephflow.cli.app import report_error

    return typer.Exit(report_error(exc))


def show_plan(dag: Any, *, as_json: bool, full: bool) -> None:
    """Print a compiled DAG as the plan (redacted) or as its JSON."""
    from cephflow.cli import console as c
    from cephflow.cli.views.plan import render_plan
    from cephflow.runbook.catalog import CATALOG
    from cephflow.settings import get_settings

    shown = dag.redacted()
    if as_json:
        typer.echo(shown.to_json())
        return
    c.console.print(render_plan(shown, catalog=CATALOG, full=full,
                                cluster=get_settings().cluster_name))


def runbook_argument() -> Any:
    """The RUNBOOK argument of ``plan`` and ``run``: a name or a file, completed by name."""
    return typer.Argument(
        None, metavar="RUNBOOK", help="A runbook name or a path to a YAML file.",
        autocompletion=cli_params.complete_runbook_names, show_default=False,
    )


def runbook_entry(ctx: typer.Context, name: str | None, *, command: str,
                  common: list[cli_params.CommonOption],
                  action: Any) -> None:
    """Shared by plan and run: load NAME, build its command, parse the rest, call ``action``."""
    from cephflow.runbook.compiler import Compiler

    args = list(ctx.args)
    if name is None or name in ("--help", "-h"):
        typer.echo(ctx.get_help())
        raise typer.Exit(0 if name or "--help" in args or "-h" in args else 2)
    try:
        load_tasks()
        compiler = Compiler(search_path=cli_params.search_path())
        loaded = compiler.load(name, strict=False)
        problems = compiler.check(loaded)
        if problems:  # before its params become options: a broken param would hide there
            raise RunbookError(problems)
    except CephflowError as exc:
        raise fail(exc) from exc

    def callback(given: dict[str, Any], options: dict[str, Any]) -> None:
        try:
            dag = compiler.compile(loaded, given)
            code = action(dag, options)
        except CephflowError as exc:
            raise fail(exc) from exc
        if code:
            raise typer.Exit(code)

    sub = cli_params.runbook_command(loaded, command=command, common=common, callback=callback)
    cli_params.invoke(ctx, sub, args, name)


PLAN_OPTIONS = [
    cli_params.CommonOption("json", "Print the compiled DAG as JSON instead of the tree."),
    cli_params.CommonOption("all", "Show every member of large fan-outs."),
]


def plan(
    ctx: typer.Context,
    name: str = runbook_argument(),
) -> None:
    """Compile RUNBOOK with its params (--param value ...) and show the plan; submits nothing.

    `cephflow plan RUNBOOK --help` lists the runbook's params.
    """

    def action(dag: Any, options: dict[str, Any]) -> int:
        show_plan(dag, as_json=options["json"], full=options["all"])
        return 0

    runbook_entry(ctx, name, command="plan", common=PLAN_OPTIONS, action=action)


def _validate_one(path: Path, compiler: Any) -> list[Problem]:
    try:
        loaded = compiler.load(path, strict=False)
    except RunbookError as exc:
        return list(exc.problems)
    problems = compiler.check(loaded)
    if problems:
        return problems
    decl = loaded.decl
    needs_values = any(p.is_required for p in decl.params.values())
    if decl.discover or needs_values:
        return []  # compiling needs params or the cluster: the static checks are what we can do
    try:
        compiler.compile(loaded, {})
    except RunbookError as exc:
        return list(exc.problems)
    except CephflowError as exc:
        return [Problem(loaded.file, 1, 1, str(exc))]
    return []


def validate(
    files: list[Path] = typer.Argument(
        None, metavar="[FILE]...",
        help="Runbook files or names (default: every runbook of the search path).",
        show_default=False,
    ),
) -> None:
    """Check runbooks and report every problem (file:line:col); exit status 2 if any."""
    from cephflow.cli import console as c
    from cephflow.runbook import library
    from cephflow.runbook.compiler import Compiler

    load_tasks()
    compiler = Compiler(search_path=cli_params.search_path())
    if not files:
        files = list(library.available(cli_params.search_path()).values())
    bad = 0
    for given in files:
        try:
            path = given if given.is_file() else library.find(str(given),
                                                             cli_params.search_path())
        except RunbookNotFound:
            c.err_console.print(f"{given}: no such file or runbook", soft_wrap=True,
                                markup=False, highlight=False)
            bad += 1
            continue
        problems = _validate_one(path, compiler)
        if problems:
            bad += 1
            for problem in sorted(set(problems)):
                c.err_console.print(str(problem), soft_wrap=True, markup=False, highlight=False)
        else:
            c.console.print(f"ok  {library.display_path(path.resolve())}", soft_wrap=True,
                            markup=False, highlight=False)
    if bad:
        c.err_console.print(f"{bad} of {len(files)} runbook(s) have problems", markup=False,
                            highlight=False)
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command("plan", context_settings=PASS_THROUGH, add_help_option=False)(plan)
    app.command("validate")(validate)


_ = click  # click is the layer the per-runbook commands are built in (see cli.params)
