"""A runbook's params as command-line options, shared by ``plan`` and ``run``.

``cephflow plan NAME ...`` cannot know its options before it knows NAME, so the typer
command takes NAME and leaves every other argument unparsed; ``runbook_command`` then builds
a typer command for that runbook (one option per param, plus the command's own options) and
parses the rest with it. ``cephflow run replace-disk --help`` therefore lists the runbook's
params with their help, in the same rich panels as every other command.

Param ``dry_run`` becomes ``--dry-run``; a ``bool`` param is a ``--x/--no-x`` flag; a list
param is given by repetition (``--osd 1 --osd 2``) or comma-separated. Values stay text
here: the compiler coerces them, so the command line and ``include ... with:`` share one set
of rules and messages. A secret param may also come from ``CEPHFLOW_PARAM_<NAME>`` so it
stays out of shell history.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.markup import escape
from typer.core import TyperCommand
from typer.main import get_command
from typer.models import OptionInfo

from cephflow.cli.help_style import restyle
from cephflow.runbook import library
from cephflow.runbook.model import ParamDecl
from cephflow.settings import get_settings

_METAVARS = {"str": "TEXT", "int": "INT", "float": "NUMBER", "bool": "", "duration": "DURATION"}

Given = dict[str, object]
"""The runbook params given on the command line, by param name (absent ones left out)."""
Options = dict[str, bool]
"""The command's own options (``CommonOption``), by name."""


@dataclass(frozen=True)
class CommonOption:
    """An option of the command itself (``--json``), not of the runbook."""

    name: str
    help: str


def option_name(param: str) -> str:
    return "--" + param.replace("_", "-")


def _help(name: str, p: ParamDecl) -> str:
    parts = [p.help.strip()] if p.help.strip() else []
    extra = [p.type]
    if p.choices:
        extra.append("one of " + ", ".join(str(c) for c in p.choices))
    if p.min is not None or p.max is not None:
        extra.append(" ".join(f"{word} {bound:g}" for word, bound in (("min", p.min), ("max", p.max))
                              if bound is not None))
    if p.is_required:
        extra.append("required")
    elif p.default is not None and not p.secret:
        extra.append(f"default: {p.default}")
    if p.secret:
        extra.append(f"secret; or set CEPHFLOW_PARAM_{name.upper()}")
    parts.append("[" + "; ".join(extra) + "]")
    return escape(" ".join(parts))  # help is rich markup: "[int; ...]" would read as a tag


def _items(values: list[str] | tuple[str, ...]) -> list[str]:
    """A list option's values, each split at commas: ``--osds 1,2 --osds 3`` is 1, 2, 3."""
    return [part.strip() for value in values for part in str(value).split(",") if part.strip()]


def _complete_choices(choices: list[object]) -> Callable[[str], list[str]]:
    def complete(incomplete: str) -> list[str]:
        return [str(x) for x in choices if str(x).startswith(incomplete)]

    return complete


def _param_option(name: str, p: ParamDecl, taken: set[str]) -> tuple[object, OptionInfo]:
    """The annotation and option of one param (renamed ``--param-x`` when it clashes)."""
    opt = option_name(name)
    if opt in taken:
        opt = option_name(f"param-{name}")
    help_text = _help(name, p)
    if p.ptype.scalar == "bool" and not p.ptype.is_list:
        flag = opt[2:]
        return bool | None, typer.Option(f"--{flag}/--no-{flag}", help=help_text,
                                         show_default=False)
    metavar = _METAVARS[p.ptype.scalar]
    if p.choices and not p.ptype.is_list:
        metavar = "[" + "|".join(str(c) for c in p.choices) + "]"
    return (list[str] | None if p.ptype.is_list else str | None), typer.Option(
        opt,
        metavar=metavar or None,
        help=help_text,
        envvar=f"CEPHFLOW_PARAM_{name.upper()}" if p.secret else None,
        show_envvar=False,
        show_default=False,
        autocompletion=_complete_choices(p.choices or []),
    )


def runbook_command(
    loaded: library.Loaded,
    *,
    command: str,
    common: list[CommonOption],
    callback: Callable[[Given, Options], None],
) -> TyperCommand:
    """A typer command for one runbook: its params as options, then ``common``.

    ``callback(params, options)`` receives the params given (absent ones left out, so the
    runbook's defaults apply) and the common options' values.
    """
    decl = loaded.decl
    common_names = {option_name(c.name) for c in common} | {"--help"}
    # The function's parameters are p0, p1, ... and c0, c1, ...: a runbook param may be
    # named like a Python keyword; each option keeps its own flag whatever its parameter.
    signature: list[inspect.Parameter] = []
    params: dict[str, str] = {}
    for i, (name, p) in enumerate(decl.params.items()):
        annotation, option = _param_option(name, p, common_names)
        params[f"p{i}"] = name
        signature.append(inspect.Parameter(f"p{i}", inspect.Parameter.KEYWORD_ONLY,
                                           default=None, annotation=Annotated[annotation, option]))
    options: dict[str, str] = {}
    for i, c in enumerate(common):
        options[f"c{i}"] = c.name
        option = typer.Option(option_name(c.name), help=escape(c.help), show_default=False)
        signature.append(inspect.Parameter(f"c{i}", inspect.Parameter.KEYWORD_ONLY,
                                           default=False, annotation=Annotated[bool, option]))

    def run(**values: object) -> None:
        given: Given = {}
        for key, name in params.items():
            value = values.get(key)
            if value is None or value == [] or value == ():
                continue
            given[name] = _items(value) if isinstance(value, list | tuple) else value
        callback(given, {name: bool(values[key]) for key, name in options.items()})

    run.__signature__ = inspect.Signature(signature)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in signature}
    description = escape(decl.description or "")
    app = typer.Typer(add_completion=False)
    app.command(command, help=f"{description}\n\nRunbook {escape(repr(decl.name))} "
                f"({escape(loaded.file)}); its params are the options below.")(run)
    built = get_command(app)
    assert isinstance(built, TyperCommand)
    restyle(built)
    return built


def invoke(parent: typer.Context, command: TyperCommand, args: list[str],
           info_name: str) -> None:
    """Parse ``args`` with ``command`` as ``<parent's command> <info_name>`` and run it.

    The command is typer's like its parent, so help, usage errors and exits propagate to the
    app's own handling (rich help and error panels, exit status 0 and 2).
    """
    with command.make_context(f"{parent.info_name} {info_name}", list(args),
                              parent=parent.parent) as ctx:
        command.invoke(ctx)


def complete_runbook_names(incomplete: str) -> list[str]:
    """Shell completion for NAME: the runbooks of the search path."""
    try:
        names = library.available(get_settings().runbook_search_path())
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
        return []
    return [n for n in sorted(names) if n.startswith(incomplete)]
