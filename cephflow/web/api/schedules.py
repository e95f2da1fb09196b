"""``/api/v1/schedules``: what ``cephflow schedules`` lists, for viewers.

The answer is the shape ``cephflow schedules --json`` prints (``operations.schedules.shown``):
each configured schedule with its runbook, params (secret ones redacted), cron expression,
time zone, window, overlap rule, last fire and next fire time.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from cephflow.engine.client import WorkflowClient
from cephflow.operations import schedules as ops
from cephflow.operations.api_tokens import Caller
from cephflow.web import auth
from cephflow.web.api.workflows import client

router = APIRouter(tags=["schedules"])


@router.get("/schedules", response_model=ops.SchedulesShown)
def list_schedules(engine: WorkflowClient = Depends(client),
                   _: Caller = Depends(auth.viewer)) -> ops.SchedulesShown:
    """The configured schedules with their last and next fire (``cephflow schedules``)."""
    return ops.shown(ops.list_schedules(engine))
