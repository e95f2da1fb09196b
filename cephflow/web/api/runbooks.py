"""``/api/v1/runbooks``: list, show (params with types and help), plan (params in, DAG out).

A plan is exactly what ``cephflow plan NAME --json`` prints, through the same operations;
a runbook or param error is a 422 whose ``problems`` are the CLI's ``file:line:col`` lines.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from starlette.concurrency import run_in_threadpool

from cephflow.operations import plan as plan_ops
from cephflow.operations import runbooks as runbook_ops
from cephflow.operations.api_tokens import Caller
from cephflow.runbook.barrier import is_barrier
from cephflow.runbook.model import RunbookDecl
from cephflow.web import auth
from cephflow.web.schemas import (
    RUNBOOK_NAME,
    ParamInfo,
    PlanInfo,
    PlanRequest,
    RunbookDetail,
    RunbookInfo,
)

router = APIRouter(prefix="/runbooks", tags=["runbooks"])

RunbookName = Annotated[str, Path(pattern=RUNBOOK_NAME, description="A runbook's name.")]


def params_of(decl: RunbookDecl) -> list[ParamInfo]:
    return [ParamInfo(name=name, type=p.type, required=p.is_required,
                      default=None if p.secret else p.default, help=p.help, choices=p.choices,
                      secret=p.secret, min=p.min, max=p.max)
            for name, p in decl.params.items()]


@router.get("", response_model=list[RunbookInfo])
def list_runbooks(_: Caller = Depends(auth.viewer)) -> list[RunbookInfo]:
    """The runbooks cephflow can run, by name (``cephflow runbooks``)."""
    return [RunbookInfo(name=e.name, description=e.description, shipped=e.shipped,
                        problem=str(e.problem) if e.problem else None)
            for e in runbook_ops.list_runbooks()]


@router.get("/{name}", response_model=RunbookDetail)
def show_runbook(name: RunbookName, _: Caller = Depends(auth.viewer)) -> RunbookDetail:
    """One runbook: its params with types, defaults and help, and its steps."""
    entry = next((e for e in runbook_ops.list_runbooks() if e.name == name), None)
    loaded = runbook_ops.show_runbook(name)
    decl = loaded.decl
    return RunbookDetail(name=decl.name, description=decl.description,
                         shipped=bool(entry and entry.shipped), params=params_of(decl),
                         steps=[s.id for s in [*decl.steps, *decl.finally_]])


def compile_plan(name: str, body: PlanRequest) -> plan_ops.Plan:
    """Open and compile runbook ``name`` with the body's params (what ``plan`` and ``run`` do)."""
    return plan_ops.plan(plan_ops.open_runbook(name), body.params, cluster=body.cluster)


@router.post("/{name}/plan", response_model=PlanInfo)
async def plan(name: RunbookName, body: PlanRequest,
               _: Caller = Depends(auth.operator)) -> PlanInfo:
    """The concrete DAG the params give (``cephflow plan NAME --json``); submits nothing."""
    compiled = await run_in_threadpool(compile_plan, name, body)  # lookups may ask Ceph
    shown = compiled.shown
    listed = [{"id": n.id, "task": n.task, "after": n.after}
              for n in shown.nodes if not is_barrier(n)]
    return PlanInfo(runbook=shown.runbook, cluster=compiled.cluster, steps=len(listed),
                    given=compiled.given, dag=json.loads(shown.to_json()), shown=listed)
