"""The web page: one HTML file and its script and style, served by the same process.

No build step: ``static/`` holds the files as they are served. Every page path returns the
same HTML; its script reads the path and asks the REST API for what to show, with the
token the user pasted (kept in the browser tab only).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)
static_files = StaticFiles(directory=STATIC)

_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers=_PAGE_HEADERS)


@router.get("/")
def home() -> FileResponse:
    return _page()


@router.get("/ui/{path:path}")
def page(path: str) -> FileResponse:
    return _page()
