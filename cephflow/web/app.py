"""The ASGI app of ``cephflow serve``: the versioned REST API on the engine the CLI uses.

One ``WorkflowClient`` for the process, opened at start-up the way ``cephflow run`` opens
one: with no ``redis_url`` the embedded Redis and local worker are started if they are not
running, so what the API submits or unblocks actually runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cephflow import __version__
from cephflow.errors import CephflowError
from cephflow.operations import workflows
from cephflow.operations.fanout import EventHub
from cephflow.operations.snapshot_cache import SnapshotCache
from cephflow.settings import get_settings
from cephflow.web import dc, errors, pages
from cephflow.web.api import me, runbooks, schedules
from cephflow.web.api import workflows as workflow_api
from cephflow.web.limits import BodyLimit
from cephflow.web.ratelimit import FailureLimit

API_PREFIX = "/api/v1"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.client = workflows.connect(services=True)
    app.state.snapshots = SnapshotCache(app.state.client,
                                        max_age=get_settings().api.snapshot_max_age)
    app.state.events = EventHub(app.state.client, encode=workflow_api.sse_event,
                                end=workflow_api.sse_end)
    try:
        yield
    finally:
        app.state.client.close()


async def _http_error(_, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse(errors.error_body(str(exc.detail)), status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def _invalid_request(_, exc: RequestValidationError) -> JSONResponse:
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return JSONResponse(errors.error_body("the request is not valid: " + problems[0],
                                          problems=problems), status_code=422)


def create_app() -> FastAPI:
    """The app: ``/api/v1`` (its OpenAPI document at ``/api/v1/openapi.json``, the docs page
    at ``/api/v1/docs``), and the web page (``/``, ``/ui/...``, ``/static/...``)."""
    app = FastAPI(title="cephflow", version=__version__, lifespan=_lifespan,
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=f"{API_PREFIX}/docs",
                  redoc_url=None)
    app.include_router(me.router, prefix=API_PREFIX)
    app.include_router(runbooks.router, prefix=API_PREFIX)
    app.include_router(workflow_api.router, prefix=API_PREFIX)
    app.include_router(schedules.router, prefix=API_PREFIX)
    app.include_router(pages.router)
    app.include_router(dc.router)
    app.mount("/static", pages.static_files, name="static")
    app.add_exception_handler(CephflowError, errors.cephflow_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    api = get_settings().api
    app.state.auth_failures = FailureLimit(api.auth_failures_per_minute)
    app.add_middleware(BodyLimit, max_bytes=api.max_body_bytes)
    return app
