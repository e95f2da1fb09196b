"""The typer app, assembled in one place from one module per command group.

Each command module has ``register(app)``. ``main()`` runs the app and ends every way a
command can end with an exit status of ``cephflow.errors.ExitStatus`` and, for an error, one
message in the style of ``cli/errors.py`` (never a traceback, unless ``--debug``):
cephflow's errors, click's usage errors, an ``OSError`` of the environment. A reader that
closes stdout early (``cephflow run demo | head -1``) ends the command quietly with status 0:
it chose to stop reading, and a followed workflow keeps running. A terminal that goes away
(an SSH session dropped) ends a command with SIGHUP, as any terminal program; where SIGHUP is
ignored (``trap '' HUP``, ``disown``; ``nohup`` also sends a terminal stdout to a file) the
next write to it fails with ``EIO`` and the command ends as if detached (status 130), never as a problem of the environment: the workflow keeps running.
"""

from __future__ import annotations

import errno
import os
import sys

import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer vendors click

from cephflow.cli import commands
from cephflow.cli import errors as cli_errors
from cephflow.cli.errors import log_to_stderr, report_error, report_os_error, show_error
from cephflow.cli.help_style import StyledGroup
from cephflow.errors import CephflowError, ExitStatus
from cephflow.lab.state import use_lab_state

app = typer.Typer(
    name="cephflow",
    cls=StyledGroup,
    help="Ceph maintenance runbooks as workflows on Celery.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)


@app.callback()
def _options(
    debug: bool = typer.Option(False, "--debug", help="Show the traceback after an error."),
) -> None:
    """Ceph maintenance runbooks as workflows on Celery."""
    cli_errors.DEBUG = debug


def _register_commands() -> None:
    for module in commands.MODULES:
        module.register(app)


def main(argv: list[str] | None = None) -> None:
    use_lab_state()
    log_to_stderr()
    _register_commands()
    sys.exit(run_app(argv))


def run_app(argv: list[str] | None = None) -> int:
    """Run the command line ``argv``; returns its exit status."""
    terminal = sys.stdout.isatty()  # asked now: a hung-up terminal is no tty to ask later
    try:
        code = app(args=argv, prog_name="cephflow", standalone_mode=False)
    except CephflowError as exc:
        return report_error(exc)
    except NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx is not None else "")
        return int(ExitStatus.BAD_INPUT)
    except typer.TyperException as exc:
        return _report_usage(exc)
    except typer.Abort:
        show_error("aborted")
        return int(ExitStatus.FAILED)
    except BrokenPipeError:
        return _stdout_closed()
    except OSError as exc:
        if exc.errno == errno.EIO and terminal:
            return _terminal_gone()
        return report_os_error(exc)
    return code if isinstance(code, int) else int(ExitStatus.SUCCEEDED)


def _terminal_gone() -> int:
    """stdout's terminal hung up: say so where it still can be read (a log a HUP-ignoring wrapper keeps), and
    send what is left of stdout to /dev/null so exiting flushes quietly."""
    _stdout_closed()
    try:
        show_error("the terminal went away; stopped following (any workflow keeps running)")
    except OSError:
        pass  # stderr was that terminal too
    return int(ExitStatus.DETACHED)


def _report_usage(exc: typer.TyperException) -> int:
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "cephflow"
    show_error(exc.format_message(), where=command, hint=f"{command} --help shows the usage")
    cli_errors.show_traceback(exc)
    return int(ExitStatus.BAD_INPUT) if isinstance(exc, UsageError) else exc.exit_code


def _stdout_closed() -> int:
    """stdout's reader has gone: send what is left to /dev/null so exiting flushes quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return int(ExitStatus.SUCCEEDED)
