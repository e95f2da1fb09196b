"""How a plan is printed: the tree of ``cephflow.cli.views.plan``, or the DAG's JSON.

Shared by ``plan`` and ``run --dry-run``, which print exactly the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from cephflow.cli import console as c
from cephflow.cli.views.plan import render_plan
from cephflow.runbook.catalog import CATALOG

if TYPE_CHECKING:
    from cephflow.operations.plan import Plan


def show_plan(plan: Plan, *, as_json: bool, full: bool) -> None:
    """Print a plan (secret params redacted) as the tree, or as the DAG's JSON."""
    shown = plan.shown
    if as_json:
        typer.echo(shown.to_json())
        return
    c.console.print(render_plan(shown, catalog=CATALOG, full=full, cluster=plan.cluster))
