"""A runbook's params as command-line options, shared by ``plan`` and ``run``.

``cephflow plan NAME ...`` cannot know its options before it knows NAME, so the typer
command takes NAME and leaves every other argument unparsed; ``runbook_command`` then builds
a click command for that runbook (one option per param, plus the command's own options) and
parses the rest with it. ``cephflow run replace-disk --help`` therefore lists the runbook's
params with their help.

Param ``dry_run`` becomes ``--dry-run``; a ``bool`` param is a ``--x/--no-x`` flag; a list
param is given by repetition (``--osd 1 --osd 2``) or comma-separated. Values stay text
here: the compiler coerces them, so the command line and ``include ... with:`` share one set
of rules and messages. A secret param may also come from ``CEPHFLOW_PARAM_<NAME>`` so it
stays out of shell history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from cephflow.runbook import library
from cephflow.runbook.model import ParamDecl

_METAVARS = {"str": "TEXT", "int": "INT", "float": "NUMBER", "bool": "", "duration": "DURATION"}


@dataclass(frozen=True)
class CommonOption:
    """An option of the command itself (``--json``), not of the runbook."""

    name: str
    help: str
    is_flag: bool = True


def option_name(param: str) -> str:
    return "--" + param.replace("_", "-")


def _help(name: str, p: ParamDecl) -> str:
    parts = [p.help.strip()] if p.help.strip() else []
    extra = [p.type]
    if p.choices:
        extra.append("one of " + ", ".join(str(c) for c in p.choices))
    if p.is_required:
        extra.append("required")
    elif p.default is not None and not p.secret:
        extra.append(f"default: {p.default}")
    if p.secret:
        extra.append(f"secret; or set CEPHFLOW_PARAM_{name.upper()}")
    parts.append("[" + "; ".join(extra) + "]")
    return " ".join(parts)


def _param_option(name: str, p: ParamDecl, taken: set[str]) -> click.Option:
    opt = option_name(name)
    if opt in taken:
        opt = option_name(f"param-{name}")
    help_text = _help(name, p)
    if p.ptype.scalar == "bool" and not p.ptype.is_list:
        flag = opt[2:]
        return click.Option([f"--{flag}/--no-{flag}", name], default=None, help=help_text)
    metavar = _METAVARS[p.ptype.scalar]
    if p.choices and not p.ptype.is_list:
        metavar = "[" + "|".join(str(c) for c in p.choices) + "]"
    return click.Option(
        [opt, name],
        type=str,
        default=None,
        multiple=p.ptype.is_list,
        metavar=metavar or None,
        help=help_text,
        envvar=f"CEPHFLOW_PARAM_{name.upper()}" if p.secret else None,
        show_envvar=False,
        shell_complete=(lambda c, prm, inc, ch=p.choices: [str(x) for x in ch or []
                                                         if str(x).startswith(inc)]),
    )


def _key(name: str) -> str:
    return "_opt_" + name.replace("-", "_")


def runbook_command(
    loaded: library.Loaded,
    *,
    command: str,
    common: list[CommonOption],
    callback: Callable[[dict[str, Any], dict[str, Any]], None],
) -> click.Command:
    """A click command for one runbook: its params as options, then ``common``.

    ``callback(params, options)`` receives the params given (absent ones left out, so the
    runbook's defaults apply) and the common options' values.
    """
    decl = loaded.decl
    common_names = {option_name(c.name) for c in common} | {"--help"}
    options: list[click.Parameter] = [
        _param_option(name, p, common_names) for name, p in decl.params.items()
    ]
    common_keys = {c.name for c in common}
    for c in common:
        options.append(click.Option([option_name(c.name), _key(c.name)], is_flag=c.is_flag,
                                    default=False, help=c.help))

    def run(**values: Any) -> None:
        given: dict[str, Any] = {}
        for name in decl.params:
            value = values.get(name)
            if value is None or value == ():
                continue
            given[name] = list(value) if isinstance(value, tuple) else value
        opts = {k: values[_key(k)] for k in common_keys}
        callback(given, opts)

    description = decl.description or ""
    return click.Command(
        name=command,
        params=options,
        callback=run,
        help=f"{description}\n\nRunbook {decl.name!r} ({loaded.file}); its params are the "
        "options below.",
        no_args_is_help=False,
    )


def invoke(parent: click.Context, command: click.Command, args: list[str], info_name: str) -> None:
    """Parse ``args`` with ``command`` under ``parent`` and run it.

    Help and usage errors are click's (exit status 0 and 2); they are turned into
    ``typer.Exit`` here because typer runs its own copy of click, which would not catch them.
    """
    import typer

    try:
        with command.make_context(info_name, list(args), parent=parent) as ctx:
            command.invoke(ctx)
    except click.exceptions.Exit as exc:
        raise typer.Exit(exc.exit_code) from None
    except click.ClickException as exc:
        exc.show()
        raise typer.Exit(exc.exit_code) from None
    except click.Abort:
        raise typer.Exit(130) from None


def complete_runbook_names(incomplete: str) -> list[str]:
    """Shell completion for NAME: the runbooks of the search path."""
    from cephflow.settings import get_settings

    try:
        names = library.available(get_settings().runbook_search_path())
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
        return []
    return [n for n in sorted(names) if n.startswith(incomplete)]


def search_path() -> list[Path]:
    from cephflow.settings import get_settings

    return get_settings().runbook_search_path()
