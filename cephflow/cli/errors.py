"""How the CLI reports cephflow's errors: one red line on stderr and the error's exit status.

``main`` reports what reaches it; a command that must stop inside click's machinery (the
per-runbook commands of ``plan`` and ``run``) raises ``fail(exc)`` instead.
"""

from __future__ import annotations

import typer
from rich.text import Text

from cephflow.cli import console as c
from cephflow.errors import CephflowError


def report_error(exc: CephflowError) -> int:
    """Print a cephflow error the way the CLI does; returns the exit status."""
    line = Text.assemble(("error:", "bold red"), f" {exc}")  # a Text: the message is never markup
    c.err_console.print(line, highlight=False, soft_wrap=True)
    return exc.exit_code


def fail(exc: CephflowError) -> typer.Exit:
    """The ``typer.Exit`` to raise after reporting ``exc``."""
    return typer.Exit(report_error(exc))
