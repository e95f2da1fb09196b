"""``cephflow serve`` (the REST API, on uvicorn) and ``cephflow api-token`` (make a token).

``serve`` binds to ``api.host``/``api.port`` unless told otherwise; the API has no open
endpoint but its OpenAPI document and docs page: every call needs a token from
``api.tokens``, which ``api-token`` makes (the token is printed once, its hash is what the
settings keep).
"""

from __future__ import annotations

import re

import typer

from cephflow.cli import console as c
from cephflow.settings import ApiRole

_TOKEN_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def serve(
    host: str | None = typer.Option(None, "--host", help="Address to bind (default: api.host)."),
    port: int | None = typer.Option(None, "--port", min=0, max=65535,
                                    help="Port to bind (default: api.port)."),
    loglevel: str = typer.Option("info", "--loglevel", "-l", help="uvicorn's log level."),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Server processes (uvicorn workers). Each keeps its own "
                                "snapshot cache and event-stream readers."),
) -> None:
    """Serve the REST API (/api/v1, docs at /api/v1/docs) on the engine the CLI uses.

    With ``--workers N`` uvicorn runs N processes on the one port: calls spread over them,
    each process builds and caches a workflow's snapshot for its own callers and reads a
    followed workflow's events once for its own followers (a workflow followed through N
    processes is read N times)."""
    import uvicorn  # lazy: see cephflow.cli.commands

    from cephflow.settings import get_settings
    from cephflow.web.app import create_app

    api = get_settings().api
    if not api.tokens:
        c.err_console.print("warning: no api.tokens are configured: every call will get 401 "
                            "(make one with `cephflow api-token NAME --user U --role R`)",
                            highlight=False)
    options = dict(host=host or api.host, port=api.port if port is None else port,
                   log_level=loglevel.lower(), proxy_headers=False, server_header=False)
    if workers == 1:
        uvicorn.run(create_app(), **options)
    else:  # each worker process imports the app itself
        uvicorn.run("cephflow.web.app:create_app", factory=True, workers=workers, **options)


def api_token(
    name: str = typer.Argument(..., help="A name for the token (who holds it, what for)."),
    user: str = typer.Option(..., "--user", help="Who the token's calls are recorded as."),
    role: list[ApiRole] = typer.Option(..., "--role", help="viewer, operator or approver "
                                       "(repeat for several)."),
) -> None:
    """Make an API token: prints it once, and the settings lines that admit it."""
    from cephflow.operations.api_tokens import new_token

    if not _TOKEN_NAME.match(name):
        raise typer.BadParameter("letters, digits, '-' and '_' only (at most 64)",
                                 param_hint="NAME")
    made = new_token(name, user, role)
    c.console.print(f"token (shown once): {made.token}", highlight=False, soft_wrap=True)
    c.console.print("add to the config file (only the hash is kept):", highlight=False)
    c.console.print(made.toml(), highlight=False, markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("api-token")(api_token)
