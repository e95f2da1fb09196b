"""Submit a compiled DAG and follow it: what ``cephflow run`` does after compiling.

On the embedded default (no ``redis_url``) the private redis-server and a local worker are
started first if they are not running; both stay in the background. The workflow id is
printed before anything else so a detached operator can always find the workflow again.
"""

from __future__ import annotations

from typing import Any

from cephflow.ceph.identity import check_one_cluster
from cephflow.cli import console as c
from cephflow.hints import status_command
from cephflow.runbook.barrier import step_count
from cephflow.runbook.dag import Dag
from cephflow.settings import get_settings


def engine_client(*, services: bool = True) -> Any:
    """The engine's client for the configured Redis, embedded services started if needed."""
    from cephflow.engine import embedded
    from cephflow.engine.client import WorkflowClient

    settings = get_settings()
    if services:
        embedded.ensure_services(settings)
    elif not settings.redis_url:
        embedded.start_redis(settings)
    return WorkflowClient(settings)


def launch(dag: Dag, *, detach: bool, output: str) -> int:
    """Submit ``dag``, print its id, and unless ``detach`` follow it; returns the exit status."""
    check_one_cluster(get_settings().ceph)
    client = engine_client()
    wf = client.submit(dag)
    if output == "json":
        c.console.out(f'{{"workflow": "{wf}"}}', highlight=False)
    elif output == "quiet":
        c.console.out(wf, highlight=False)
    else:
        c.console.print(f"workflow {wf} submitted ({dag.runbook}, {step_count(dag.nodes)} steps)",
                        highlight=False, soft_wrap=True)
    if detach:
        if output not in ("json", "quiet"):
            c.console.print(f"follow it with: {status_command(wf)}", highlight=False)
        return 0
    return follow_workflow(client, wf, output=output)


def follow_workflow(client: Any, wf: str, *, output: str) -> int:
    """Follow ``wf`` to its end (live tree, plain or JSON lines); returns the exit status."""
    from cephflow.cli.follow import follow

    return follow(client, wf, output=output)
