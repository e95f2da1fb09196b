"""The typer app, assembled in one place from one module per command group.

Each command module has ``register(app)``; ``main()`` runs the app and turns cephflow's
errors into a message and an exit status (never a traceback).
"""

from __future__ import annotations

import sys

import typer

from cephflow.cli import commands
from cephflow.cli.errors import report_error
from cephflow.cli.help_style import StyledGroup
from cephflow.errors import CephflowError
from cephflow.lab.state import use_lab_state

app = typer.Typer(
    name="cephflow",
    cls=StyledGroup,
    help="Ceph maintenance runbooks as workflows on Celery.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)


def _register_commands() -> None:
    for module in commands.MODULES:
        module.register(app)


def main(argv: list[str] | None = None) -> None:
    use_lab_state()
    _register_commands()
    try:
        app(args=argv, standalone_mode=True)
    except CephflowError as exc:
        sys.exit(report_error(exc))
