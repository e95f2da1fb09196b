"""``/dc/<workflow>/<token>``: the page a datacentre link opens (``notify.dc``).

No bearer token and no cookie: the signed link is the credential, and the form posts back
to the same URL, so a request forged from another site cannot carry it (it does not know
the token). GET shows the disk and the form; POST confirms the replacement once
(``cephflow.operations.dc_links``). A link that is altered or another workflow's answers
403, an expired or used one 410, one whose gate or workflow cannot take it 409; a bad entry
shows the form again (422). Each of them changes nothing. Pages are never cached and send
no referrer (the URL is the credential).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from cephflow.errors import (
    CephflowError,
    LinkExpired,
    LinkInvalid,
    LinkRefused,
    LinkUsed,
    ParamError,
)
from cephflow.operations import dc_links
from cephflow.web import dc_page
from cephflow.web.errors import status_of

router = APIRouter(include_in_schema=False)

_STATUS: dict[type[CephflowError], int] = {
    LinkInvalid: 403,
    LinkExpired: 410,
    LinkUsed: 410,
    LinkRefused: 409,
}

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
}


def _html(text: str, status: int) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=_HEADERS)


def _refused(exc: CephflowError) -> HTMLResponse:
    status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), None)
    return _html(dc_page.refused(type(exc).__name__, str(exc)), status or status_of(exc))


@router.get("/dc/{workflow}/{token}", response_class=HTMLResponse)
def show(workflow: str, token: str, request: Request) -> HTMLResponse:
    """The disk to replace and the confirmation form."""
    try:
        page = dc_links.open_link(request.app.state.client, workflow, token)
    except CephflowError as exc:
        return _refused(exc)
    return _html(dc_page.form(page), 200)


@router.post("/dc/{workflow}/{token}", response_class=HTMLResponse)
async def confirm(workflow: str, token: str, request: Request) -> HTMLResponse:
    """Confirm the replacement: records the new serial, approves the gate, uses the link up."""
    fields = parse_qs((await request.body()).decode(errors="replace"))
    new_serial = (fields.get("new_serial") or [""])[0]
    technician = (fields.get("technician") or [""])[0]
    client = request.app.state.client
    try:
        done = await run_in_threadpool(dc_links.confirm, client, workflow, token,
                                       new_serial=new_serial, technician=technician)
    except ParamError as exc:
        try:
            page = await run_in_threadpool(dc_links.open_link, client, workflow, token)
        except CephflowError as refusal:
            return _refused(refusal)
        return _html(dc_page.form(page, problem=str(exc),
                                  new_serial=new_serial, technician=technician), 422)
    except CephflowError as exc:
        return _refused(exc)
    return _html(dc_page.confirmed(done), 200)
