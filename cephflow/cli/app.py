"""The typer app, assembled in one place from one module per command group.

Each command module has ``register(app)``; ``main()`` runs the app and turns cephflow's
errors into a message and an exit status (never a traceback).
"""

from __future__ import annotations

import sys

import typer

from cephflow.errors import CephflowError
from cephflow.lab.state import use_lab_state

app = typer.Typer(
    name="cephflow",
    help="Ceph maintenance runbooks as workflows on Celery.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)


def _register_commands() -> None:
    from cephflow.cli import commands

    for module in commands.MODULES:
        module.register(app)


def report_error(exc: CephflowError) -> int:
    """Print a cephflow error the way the CLI does; returns the exit status."""
    from cephflow.cli import console as c

    c.err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
    return exc.exit_code


def main(argv: list[str] | None = None) -> None:
    use_lab_state()
    _register_commands()
    try:
        app(args=argv, standalone_mode=True)
    except CephflowError as exc:
        sys.exit(report_error(exc))
