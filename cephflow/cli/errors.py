"""How the CLI reports an error: ``error: <what> (<where>)``, a ``hint:`` line, an exit status.

Everything goes to stderr, in one style, whatever raised it: cephflow's own errors, a usage
error click found, an ``OSError`` from the environment (a HOME that cannot be written).
``main`` reports what reaches it; a command that must stop inside click's machinery (the
per-runbook commands of ``plan`` and ``run``) raises ``fail(exc)`` instead. With ``--debug``
the traceback follows the message.
"""

from __future__ import annotations

import logging
import traceback

import typer
from rich.text import Text

from cephflow.cli import console as c
from cephflow.errors import CephflowError, ExitStatus

DEBUG = False
"""Set by the global ``--debug`` option: print the traceback after an error's message."""


def show_error(what: str, *, where: str | None = None, hint: str | None = None) -> None:
    """Print one error in cephflow's style on stderr; styles come from ``Text`` parts, so user
    text (``work[item-0]``, a reason with brackets) is never read as markup."""
    line = Text.assemble(("error:", "bold red"), f" {what}")
    if where:
        line.append(f" ({where})")
    c.err_console.print(line, highlight=False, soft_wrap=True)
    if hint:
        c.err_console.print(Text.assemble(("hint:", "dim"), f" {hint}"), highlight=False,
                            soft_wrap=True)


def show_traceback(exc: BaseException) -> None:
    """The traceback of ``exc`` on stderr, when ``--debug`` asked for it."""
    if DEBUG:
        c.err_console.print("".join(traceback.format_exception(exc)), markup=False,
                            highlight=False, soft_wrap=True)


def report_error(exc: CephflowError) -> int:
    """Print a cephflow error the way the CLI does; returns the exit status."""
    show_error(str(exc), where=exc.where, hint=exc.hint)
    show_traceback(exc)
    return int(exc.exit_code)


def report_os_error(exc: OSError) -> int:
    """Print an error of the environment (a path cephflow cannot create or write)."""
    show_error(exc.strerror or str(exc), where=exc.filename and str(exc.filename),
               hint="check that the path exists and is writable (HOME, CEPHFLOW_STATE_DIR)")
    show_traceback(exc)
    return int(ExitStatus.BAD_INPUT)


class _LogLine(logging.Handler):
    """A cephflow log record as ``warning: <message>`` on the error console (above a live
    view while one is drawn, never through it). Silent once the process configured logging
    itself (``cephflow worker``): its own handlers show the record."""

    def emit(self, record: logging.LogRecord) -> None:
        if logging.getLogger().handlers:
            return
        c.err_console.print(f"{record.levelname.lower()}: {record.getMessage()}", markup=False,
                            highlight=False, soft_wrap=True)


def log_to_stderr() -> None:
    """Show cephflow's warnings in the CLI's style (the worker logs its own way)."""
    logger = logging.getLogger("cephflow")
    if not any(isinstance(h, _LogLine) for h in logger.handlers):
        logger.addHandler(_LogLine(logging.WARNING))


def fail(exc: CephflowError) -> typer.Exit:
    """The ``typer.Exit`` to raise after reporting ``exc``."""
    return typer.Exit(report_error(exc))
