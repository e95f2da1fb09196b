"""``/api/v1/workflows`` and ``/api/v1/history``: what ``cephflow run``, ``status``,
``approve``, ``reject``, ``cancel``, ``resume``, ``retry`` and ``history`` do, over HTTP.

Each handler calls the ``cephflow.operations.workflows`` function the CLI command calls,
with the token's user as who did it. The engine's calls block on Redis, so handlers are
plain functions: FastAPI runs them in its thread pool.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import (
    HistoryEntry,
    NodeSnapshot,
    WorkflowSnapshot,
    WorkflowState,
    WorkflowSummary,
)
from cephflow.errors import ParamError
from cephflow.operations import pause as pausing
from cephflow.operations import tree
from cephflow.operations import workflows as ops
from cephflow.operations.api_tokens import Caller
from cephflow.web import auth
from cephflow.web.api.runbooks import compile_plan
from cephflow.web.schemas import (
    CancelledInfo,
    DecisionInfo,
    DecisionRequest,
    PausedInfo,
    PauseRequest,
    ResumedInfo,
    ResumeRequest,
    SubmitRequest,
    SubmittedInfo,
    UnpausedInfo,
    WorkflowRef,
)

router = APIRouter(tags=["workflows"])

WorkflowId = Annotated[str, "an id or a unique prefix of one"]
STREAM_BLOCK_MS = 1000
"""How long one read of the event stream waits for news before it looks at the state."""


def client(request: Request) -> WorkflowClient:
    return request.app.state.client


@router.get("/workflows", response_model=list[WorkflowSummary])
def list_workflows(
    state: WorkflowState | None = None,
    runbook: str | None = Query(None, max_length=100),
    user: str | None = Query(None, max_length=200),
    since: float | None = Query(None, ge=0, le=1e11, allow_inf_nan=False,
                                description="Submitted at or after (epoch seconds)."),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=1_000_000),
    cluster: str | None = Query(None, max_length=100,
                                description="Only this cluster's (default: every cluster's)."),
    engine: WorkflowClient = Depends(client),
    _: Caller = Depends(auth.viewer),
) -> list[WorkflowSummary]:
    """Workflows, newest first, a page at a time (``cephflow status``)."""
    filters = ops.WorkflowFilter(state=state, runbook=runbook, user=user, since=since,
                                 cluster=ops.cluster_filter(cluster).cluster)
    return ops.list_workflows(engine, limit, filters=filters, offset=offset)


@router.post("/workflows", response_model=SubmittedInfo, status_code=201)
def submit(body: SubmitRequest, engine: WorkflowClient = Depends(client),
           who: Caller = Depends(auth.operator)) -> SubmittedInfo:
    """Plan the runbook with the params and submit it (``cephflow run NAME --detach``)."""
    compiled = compile_plan(body.runbook, body)
    done = ops.submit(compiled.dag, client=engine, given=compiled.given, user=who.user,
                      cluster=compiled.cluster)
    return SubmittedInfo(id=done.workflow_id, runbook=done.runbook, steps=done.steps,
                         submitted_by=who.user)


@router.get("/workflows/{workflow_id}", response_model=WorkflowSnapshot)
def get_workflow(workflow_id: WorkflowId, engine: WorkflowClient = Depends(client),
                 _: Caller = Depends(auth.viewer)) -> WorkflowSnapshot:
    """The workflow as it is now (``cephflow status ID --json``)."""
    return ops.snapshot(engine, workflow_id)


@router.get("/workflows/{workflow_id}/tree")
def workflow_tree(workflow_id: WorkflowId, engine: WorkflowClient = Depends(client),
                  _: Caller = Depends(auth.viewer)) -> dict[str, Any]:
    """The workflow's steps as the terminal's live tree shows them (``operations.tree``):
    fan-outs as counters with their running and failed members, includes as subtrees."""
    return tree.outline(ops.snapshot(engine, workflow_id), now=time.time())


@router.get("/workflows/{workflow_id}/steps/{step}", response_model=NodeSnapshot)
def get_step(workflow_id: WorkflowId, step: str, engine: WorkflowClient = Depends(client),
             _: Caller = Depends(auth.viewer)) -> NodeSnapshot:
    """One step (a step name or node id) in full, with its output
    (``cephflow status ID --step S --json``)."""
    shown, node_id = ops.step(engine, workflow_id, step)
    return shown.nodes[node_id]


def _stream(engine: WorkflowClient, wf: str, after: str) -> Iterator[str]:
    while True:
        state, events = ops.events(engine, wf, after, block_ms=STREAM_BLOCK_MS)
        for event in events:
            after = event.id
            yield f"id: {event.id}\nevent: {event.type.value}\ndata: {event.model_dump_json()}\n\n"
        if not events and state.terminal:
            yield f"event: end\ndata: {json.dumps({'state': state.value})}\n\n"
            return
        if not events:
            yield ": waiting\n\n"  # a comment: keeps proxies from closing a quiet stream


@router.get("/workflows/{workflow_id}/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
def workflow_events(workflow_id: WorkflowId,
                    last_event_id: str | None = Header(None, max_length=64),
                    engine: WorkflowClient = Depends(client),
                    _: Caller = Depends(auth.viewer)) -> StreamingResponse:
    """The workflow's events as Server-Sent Events, from the start or after ``Last-Event-ID``;
    the stream ends (``event: end``) once the workflow has ended and every event is sent."""
    wf = ops.resolve(engine, workflow_id)
    after = last_event_id or "0-0"
    if not _is_stream_id(after):
        raise ParamError(f"Last-Event-ID {after!r} is not an event id (like 1700000000000-0)")
    return StreamingResponse(_stream(engine, wf, after), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


def _is_stream_id(value: str) -> bool:
    ms, sep, seq = value.partition("-")
    return bool(sep) and ms.isdigit() and seq.isdigit()


@router.post("/workflows/{workflow_id}/gates/{step}/approve", response_model=DecisionInfo)
def approve(workflow_id: WorkflowId, step: str, body: DecisionRequest | None = None,
            engine: WorkflowClient = Depends(client),
            who: Caller = Depends(auth.approver)) -> DecisionInfo:
    """Approve the gate ``step`` as the token's user (``cephflow approve ID STEP``)."""
    early = bool(body and body.early)
    done = ops.approve(engine, workflow_id, step, user=who.user, early=early)
    return DecisionInfo(workflow_id=done.workflow_id, gates=[vars(g) for g in done.gates])


@router.post("/workflows/{workflow_id}/gates/{step}/reject", response_model=DecisionInfo)
def reject(workflow_id: WorkflowId, step: str, body: DecisionRequest,
           engine: WorkflowClient = Depends(client),
           who: Caller = Depends(auth.approver)) -> DecisionInfo:
    """Reject the gate ``step``: the step fails with the reason (``cephflow reject``)."""
    if not body.reason:
        raise ParamError("a rejection needs a reason")
    done = ops.reject(engine, workflow_id, step, reason=body.reason, user=who.user,
                      early=body.early)
    return DecisionInfo(workflow_id=done.workflow_id, gates=[vars(g) for g in done.gates])


@router.post("/workflows/{workflow_id}/cancel", response_model=CancelledInfo)
def cancel(workflow_id: WorkflowId, engine: WorkflowClient = Depends(client),
           who: Caller = Depends(auth.operator)) -> CancelledInfo:
    """Cancel: nothing new starts, running steps finish, the finally steps run."""
    done = ops.cancel(engine, workflow_id, user=who.user)
    return CancelledInfo(workflow_id=done.workflow_id, left=done.left)


@router.post("/workflows/{workflow_id}/resume", response_model=ResumedInfo)
def resume(workflow_id: WorkflowId, body: ResumeRequest | None = None,
           engine: WorkflowClient = Depends(client),
           who: Caller = Depends(auth.operator)) -> ResumedInfo:
    """Re-run a failed or cancelled workflow (``cephflow resume ID [--from STEP]``); a paused
    one is unpaused instead."""
    done = pausing.resume(engine, workflow_id, from_step=body.from_step if body else None,
                          user=who.user)
    lifted = done.unpaused
    return ResumedInfo(workflow_id=done.workflow_id, unpaused=None if lifted is None else
                       UnpausedInfo(workflow_id=lifted.workflow_id, sent=lifted.sent,
                                    lifted=lifted.lifted))


@router.post("/workflows/{workflow_id}/pause", response_model=PausedInfo)
def pause(workflow_id: WorkflowId, body: PauseRequest | None = None,
          engine: WorkflowClient = Depends(client),
          who: Caller = Depends(auth.operator)) -> PausedInfo:
    """Hold the workflow and freeze its data movement (``cephflow pause ID``)."""
    done = pausing.pause(engine, workflow_id, reason=body.reason if body else "", user=who.user)
    return PausedInfo(workflow_id=done.workflow_id, already=done.already, flags=done.flags,
                      left=done.left)


@router.post("/workflows/{workflow_id}/unpause", response_model=UnpausedInfo)
def unpause(workflow_id: WorkflowId, engine: WorkflowClient = Depends(client),
            who: Caller = Depends(auth.operator)) -> UnpausedInfo:
    """Lift the pause: the flags it set, then the held steps (``cephflow unpause ID``)."""
    done = pausing.unpause(engine, workflow_id, user=who.user)
    return UnpausedInfo(workflow_id=done.workflow_id, sent=done.sent, lifted=done.lifted)


@router.post("/workflows/{workflow_id}/steps/{step}/retry", response_model=WorkflowRef)
def retry(workflow_id: WorkflowId, step: str, engine: WorkflowClient = Depends(client),
          who: Caller = Depends(auth.operator)) -> WorkflowRef:
    """Re-run one failed step (``cephflow retry ID STEP``)."""
    return WorkflowRef(workflow_id=ops.retry(engine, workflow_id, step, user=who.user))


@router.get("/history", response_model=list[HistoryEntry])
def history(workflow: str | None = Query(None, max_length=64),
            user: str | None = Query(None, max_length=200),
            since: float | None = Query(None, ge=0, le=1e10, allow_inf_nan=False,
                                        description="Seconds back from now."),
            limit: int = Query(50, ge=1, le=10_000),
            engine: WorkflowClient = Depends(client),
            _: Caller = Depends(auth.viewer)) -> list[HistoryEntry]:
    """Who ran, approved, rejected, cancelled, resumed what and when (``cephflow history``)."""
    return ops.history(engine, workflow, user=user, since=since, limit=limit)
