"""One look for every ``--help``: rich panels, uppercase metavars, nothing on flags.

typer's rich help puts a type column on every row (``<bool>`` beside ``--json``, ``<str>``
beside an argument already named ``RUNBOOK``), while a runbook's params show ``INT`` and
``DURATION``. ``restyle`` gives every parameter of a built click command the same column:
an option that takes a value shows its metavar (``TEXT``, ``INT``, ``PATH``, ``[a|b]``); a
flag and an argument show nothing (an argument's name is its metavar already).
``StyledGroup`` applies it to the app and every command below it, and ``cephflow.cli.params``
to each runbook's command, so ``cephflow run --help`` and ``cephflow run demo --help`` read
alike.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

_TYPE_METAVARS = {"str": "TEXT", "int": "INT", "float": "NUMBER", "path": "PATH", "bool": "BOOL",
                  "list[str]": "TEXT", "list[int]": "INT"}
"""typer's type label -> the metavar shown (the names runbook params use too)."""


class _Argument(TyperArgument):
    """An argument whose help row is its name and help, with no type column."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


class _Option(TyperOption):
    """An option whose type column is its metavar (empty for a flag)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return self.metavar or None


def metavar_of(param: TyperOption, ctx: Any) -> str | None:
    """The metavar an option shows: its own, else its type's, else none (a flag)."""
    if param.is_flag or param.count:
        return None
    if param.metavar:
        return param.metavar
    label = param.display_type(ctx).strip("<>")  # typer's "<int>", "<a|b>", "<list[str]>"
    if param.type_descriptor.is_choice:
        return f"[{label}]"
    return _TYPE_METAVARS.get(label.lower(), label.upper())


def _restyle_param(param: object, ctx: Any) -> None:
    if isinstance(param, TyperArgument):
        param.__class__ = _Argument
    elif isinstance(param, TyperOption):
        param.metavar = metavar_of(param, ctx)
        param.__class__ = _Option


def restyle(command: Any) -> Any:
    """Give ``command`` (a built typer command or group) and every command below it the one
    help style; returns it. The help option is built here once (click caches it) to share it.
    """
    ctx = typer.Context(command)
    for param in command.params:
        _restyle_param(param, ctx)
    _restyle_param(command.get_help_option(ctx), ctx)
    for sub in getattr(command, "commands", {}).values():
        restyle(sub)
    return command


class StyledGroup(TyperGroup):
    """The app's group: ``restyle`` on its commands, and on its own options when shown."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        restyle(self)

    def get_params(self, ctx: Any) -> list[Any]:
        restyle(self)  # typer adds --install-completion after the group is built
        return super().get_params(ctx)
