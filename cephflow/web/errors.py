"""cephflow's errors as HTTP answers: one status per kind of error, one JSON body shape.

The body says what the CLI would print: the message, where (``file:line:col`` of a runbook,
a setting), the hint, and for a runbook every problem as the CLI lists them. The status
follows the error's exit status (``ExitStatus``), with the not-found and conflict cases
named, so that an API client can tell "fix the request" from "try again later".
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from cephflow.errors import (
    AmbiguousWorkflowId,
    CephflowError,
    ExitStatus,
    InvalidTransition,
    LockHeld,
    NotAnApprover,
    RunbookError,
    RunbookNotFound,
    StepNotFound,
    WorkflowNotFound,
)

NOT_FOUND = (RunbookNotFound, WorkflowNotFound, StepNotFound)
CONFLICT = (LockHeld, InvalidTransition)

_BY_EXIT_STATUS: dict[int, int] = {
    ExitStatus.BAD_INPUT: 422,
    ExitStatus.LOCK_HELD: 409,
    ExitStatus.UNREACHABLE: 503,
}


def status_of(exc: CephflowError) -> int:
    """The HTTP status that answers ``exc``."""
    if isinstance(exc, NotAnApprover):
        return 403
    if isinstance(exc, NOT_FOUND):
        return 404
    if isinstance(exc, CONFLICT):
        return 409
    if isinstance(exc, AmbiguousWorkflowId):
        return 400
    return _BY_EXIT_STATUS.get(int(exc.exit_code), 500)


def error_body(message: str, *, where: str | None = None, hint: str | None = None,
               problems: list[str] | None = None) -> dict[str, object]:
    body: dict[str, object] = {"error": message}
    if where:
        body["where"] = where
    if hint:
        body["hint"] = hint
    if problems:
        body["problems"] = problems
    return body


async def cephflow_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CephflowError)
    problems = [str(p) for p in exc.problems] if isinstance(exc, RunbookError) else None
    message = problems[0] if problems else str(exc)
    return JSONResponse(error_body(message, where=exc.where, hint=exc.hint, problems=problems),
                        status_code=status_of(exc))
