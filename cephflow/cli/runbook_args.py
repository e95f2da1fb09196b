"""The RUNBOOK argument of ``plan`` and ``run``, and how both turn it into a command.

``runbook_entry`` opens the runbook (``cephflow.operations.plan``), builds its command
(``cephflow.cli.params``), parses the rest of the command line with it, compiles the plan
and hands it to the command's ``action``, which renders it or submits it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from typer.models import ArgumentInfo, OptionInfo

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


def runbook_entry_command(*, command: str, common: list[cli_params.CommonOption],
                          action: Action, doc: str) -> Callable[..., None]:
    """The function typer makes ``plan`` or ``run`` from: RUNBOOK plus the ``common`` options.

    The options are declared here too, not only on each runbook's command, so
    ``cephflow run --help`` lists them; given before or after RUNBOOK, they are handed on to
    the runbook's command, which reads them.
    """
    names: dict[str, str] = {}
    signature = [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
        inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          default=runbook_argument(), annotation=str | None),
    ]
    for i, c in enumerate(common):
        names[f"c{i}"] = c.name
        option = typer.Option(cli_params.option_name(c.name), help=escape(c.help),
                              show_default=False)
        signature.append(inspect.Parameter(f"c{i}", inspect.Parameter.KEYWORD_ONLY,
                                           default=False, annotation=Annotated[bool, option]))
    signature.append(inspect.Parameter("cluster", inspect.Parameter.KEYWORD_ONLY, default=None,
                                       annotation=Annotated[str | None, cluster_option()]))

    def entry(ctx: typer.Context, name: str | None = None, cluster: str | None = None,
              **values: bool) -> None:
        given = [cli_params.option_name(n) for key, n in names.items() if values.get(key)]
        runbook_entry(ctx, name, command=command, common=common, action=action, given=given,
                      cluster=cluster)

    entry.__signature__ = inspect.Signature(signature)  # type: ignore[attr-defined]
    entry.__annotations__ = {p.name: p.annotation for p in signature}
    entry.__doc__ = doc
    entry.__name__ = command
    return entry


def cluster_option() -> OptionInfo:
    """``--cluster NAME``: the cluster a plan or run is for (``[clusters.<name>]``)."""
    return typer.Option("--cluster", metavar="NAME", show_default=False, help=escape(
        "The cluster to plan or run on ([clusters.<name>] in the settings; default: "
        "default_cluster, or the only one)."))


def runbook_entry(ctx: typer.Context, name: str | None, *, command: str,
                  common: list[cli_params.CommonOption], action: Action,
                  given: list[str] | None = None, cluster: str | None = None) -> None:
    """Shared by plan and run: open NAME, build its command, parse the rest, call ``action``.

    ``given`` are the common options the top command parsed already (``--json``);
    ``cluster`` the cluster chosen (``--cluster``; None: the default), which every setting
    read from then on is for (its Ceph, monitoring and notification settings).
    """
    from cephflow.operations import plan as plan_ops  # lazy: see cephflow.cli.commands

    args = list(ctx.args) + list(given or ())
    if name is None or name in ("--help", "-h"):
        typer.echo(ctx.get_help())
        raise typer.Exit(0 if name or "--help" in args or "-h" in args else 2)
    try:
        plan_ops.use_cluster(cluster)
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
