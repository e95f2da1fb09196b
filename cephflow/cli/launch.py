"""Submit a compiled DAG and follow it: what ``cephflow run`` does after compiling.

On the embedded default (no ``redis_url``) the private redis-server and a local worker are
started first if they are not running; both stay in the background, and one line on stderr
says which were started, where their logs are and how to stop them (and one line for each
that had died and was started again, as every command on the embedded default says it:
``connect``). The workflow id is
printed before anything else so a detached operator can always find the workflow again.

Imported only when a command talks to the engine: ``cephflow.operations.workflows`` brings
in celery and redis, which ``--help``, ``plan`` and completion must not wait for.
"""

from __future__ import annotations

from cephflow.cli import console as c
from cephflow.cli.follow import follow
from cephflow.engine.client import WorkflowClient
from cephflow.engine.embedded import ServiceStatus
from cephflow.hints import status_command
from cephflow.operations import workflows
from cephflow.operations.plan import Plan


def started_line(started: list[ServiceStatus]) -> str:
    """The one line that says what a run started in the background and how to stop it."""
    names = {"redis": "redis-server"}
    what = ", ".join(f"{names.get(s.name, s.name)} (pid {s.pid}, {s.detail})" for s in started)
    return f"started in the background: {what}; stop with: cephflow services stop"


def revived_line(service: ServiceStatus) -> str:
    """The one line that says a service had died and was started again."""
    names = {"redis": "the embedded redis-server", "worker": "the local worker"}
    return (f"cephflow: {names.get(service.name, service.name)} had stopped "
            f"(pid {service.was}); started it again (pid {service.pid}, {service.detail})")


def say_started(started: list[ServiceStatus], *, fresh: bool = True) -> None:
    """On stderr: a line per service that had died, and (``fresh``) one for those started
    for the first time."""
    for service in started:
        if service.was is not None:
            c.err_console.print(revived_line(service), highlight=False, soft_wrap=True)
    first = [s for s in started if s.was is None]
    if fresh and first:
        c.err_console.print(started_line(first), highlight=False, soft_wrap=True)


def connect(*, services: bool = True) -> WorkflowClient:
    """``workflows.connect`` for a command, saying on stderr which embedded services had
    died and were started again."""
    opened = workflows.open_client(services=services)
    say_started(opened.started, fresh=False)
    return opened.client


def launch(compiled: Plan, *, detach: bool, output: str) -> int:
    """Submit the plan's DAG, print its id, and unless ``detach`` follow it; returns the exit
    status."""
    submitted = workflows.submit(compiled.dag, given=compiled.given, cluster=compiled.cluster)
    say_started(submitted.started)
    wf = submitted.workflow_id
    if output == "json":
        c.console.out(f'{{"workflow": "{wf}"}}', highlight=False)
    elif output == "quiet":
        c.console.out(wf, highlight=False)
    else:
        c.console.print(f"workflow {wf} submitted ({submitted.runbook}, {submitted.steps} steps)",
                        highlight=False, soft_wrap=True)
    if detach:
        if output not in ("json", "quiet"):
            c.console.print(f"follow it with: {status_command(wf)}", highlight=False)
        return 0
    return follow(submitted.client, wf, output=output)
