"""``/api/v1/workflows`` and ``/api/v1/history``: what ``cephflow run``, ``status``,
``approve``, ``reject``, ``cancel``, ``resume``, ``retry`` and ``history`` do, over HTTP.

Each handler calls the ``cephflow.operations.workflows`` function the CLI command calls,
with the token's user as who did it. The engine's calls block on Redis, so handlers are
plain functions: FastAPI runs them in its thread pool. The readers of a workflow (its
snapshot, tree, steps and events) are async instead: they share one snapshot build per
change (``SnapshotCache``) and one stream reader per workflow (``EventHub``), waiting for
them on the event loop rather than holding a thread each.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import (
    Event,
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
from cephflow.operations.fanout import EventHub
from cephflow.operations.snapshot_cache import SnapshotCache
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


def snapshots(request: Request) -> SnapshotCache:
    return request.app.state.snapshots


@router.get("/workflows/{workflow_id}", response_model=WorkflowSnapshot,
            responses={200: {"description": "Every node, as of the workflow's last event."}})
async def get_workflow(workflow_id: WorkflowId, cache: SnapshotCache = Depends(snapshots),
                       accept_encoding: str = Header(""),
                       _: Caller = Depends(auth.viewer)) -> Response:
    """The workflow as it is now, every node (``cephflow status ID --json``).

    Built once per change of the workflow and shared by every caller (``SnapshotCache``),
    gzip-compressed once for callers that accept it: a 10,000-node workflow is about 14 MB
    of JSON, 0.3 MB gzipped. The page reads ``/tree`` instead."""
    built = await cache.get(workflow_id)
    if "gzip" in accept_encoding.lower():
        return Response(await cache.gzipped(built), media_type="application/json",
                        headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return Response(await cache.json(built), media_type="application/json",
                    headers={"Vary": "Accept-Encoding"})


@router.get("/workflows/{workflow_id}/tree")
async def workflow_tree(
    workflow_id: WorkflowId,
    shape: Literal["auto", "full", "summary"] = Query(
        "auto", description="``full``: every step; ``summary``: a big workflow's rows "
        "collapsed (stages and quiet runs as counters, with a ``key`` each); ``auto``: the "
        f"summary above {tree.SUMMARY_OVER} steps."),
    open_key: str | None = Query(
        None, alias="open", max_length=300,
        description="The ``key`` of a collapsed row: its entries, ``limit`` from ``offset``."),
    offset: int = Query(0, ge=0, le=1_000_000),
    limit: int = Query(tree.OPEN_LIMIT, ge=1, le=10_000),
    cache: SnapshotCache = Depends(snapshots),
    _: Caller = Depends(auth.viewer),
) -> Response:
    """The workflow's steps as the terminal's live tree shows them (``operations.tree``):
    fan-outs as counters with their running and failed members, includes as subtrees; for
    a big workflow (``shape``) the collapsed summary, whose rows open with ``open``."""
    built = await cache.get(workflow_id)

    def render() -> bytes:
        now = time.time()
        if open_key is not None:
            shown = tree.opened(built.snapshot, open_key, now=now, offset=offset, limit=limit)
        else:
            shown = tree.outline_shaped(built.snapshot, now=now, shape=shape)
        return json.dumps(shown, ensure_ascii=False, separators=(",", ":")).encode()

    return Response(await run_in_threadpool(render), media_type="application/json")


@router.get("/workflows/{workflow_id}/steps/{step}", response_model=NodeSnapshot)
async def get_step(workflow_id: WorkflowId, step: str, cache: SnapshotCache = Depends(snapshots),
                   _: Caller = Depends(auth.viewer)) -> NodeSnapshot:
    """One step (a step name or node id) in full, with its output
    (``cephflow status ID --step S --json``)."""
    return await cache.step(workflow_id, step)


def sse_event(event: Event) -> bytes:
    """One event as a Server-Sent Event (encoded once per process: ``EventHub``)."""
    return (f"id: {event.id}\nevent: {event.type.value}\ndata: {event.model_dump_json()}\n\n"
            .encode())


def sse_end(state: WorkflowState) -> bytes:
    """The last Server-Sent Event of a stream: the workflow ended in ``state``."""
    return f"event: end\ndata: {json.dumps({'state': state.value})}\n\n".encode()


KEEP_ALIVE = b": waiting\n\n"
"""A comment: keeps proxies from closing a quiet stream."""


def events_hub(request: Request) -> EventHub:
    return request.app.state.events


async def _stream(hub: EventHub, wf: str, after: str) -> AsyncIterator[bytes]:
    async for chunk in hub.follow(wf, after):
        yield KEEP_ALIVE if chunk is None else chunk


@router.get("/workflows/{workflow_id}/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
def workflow_events(workflow_id: WorkflowId,
                    last_event_id: str | None = Header(None, max_length=64),
                    engine: WorkflowClient = Depends(client),
                    hub: EventHub = Depends(events_hub),
                    _: Caller = Depends(auth.viewer)) -> StreamingResponse:
    """The workflow's events as Server-Sent Events, from the start or after ``Last-Event-ID``;
    the stream ends (``event: end``) once the workflow has ended and every event is sent.

    Each server process reads a followed workflow's stream once for all its followers and
    sends each the same encoded events (``operations.fanout``)."""
    wf = ops.resolve(engine, workflow_id)
    after = last_event_id or "0-0"
    if not _is_stream_id(after):
        raise ParamError(f"Last-Event-ID {after!r} is not an event id (like 1700000000000-0)")
    return StreamingResponse(_stream(hub, wf, after), media_type="text/event-stream",
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
