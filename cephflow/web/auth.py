"""Who is calling, and may they: a bearer token from the settings, checked for a role.

No token (or one no setting names) is 401; a token without the role the call needs is 403.
The caller's user is what the audit history records for whatever the call changes.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cephflow.operations.api_tokens import Caller, caller_of
from cephflow.settings import ApiRole

_bearer = HTTPBearer(auto_error=False, description="An API token (`cephflow api-token`).")

READ_ROLES = frozenset(ApiRole)
"""Every role may read."""


def caller(credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Caller:
    found = caller_of(credentials.credentials if credentials else None)
    if found is None:
        raise HTTPException(401, "a valid API token is needed (Authorization: Bearer TOKEN)",
                            headers={"WWW-Authenticate": "Bearer"})
    return found


def require(role: ApiRole) -> Callable[[Caller], Caller]:
    """A dependency that admits callers holding ``role`` (every role reads)."""

    def check(who: Caller = Depends(caller)) -> Caller:
        if role is ApiRole.VIEWER or who.may(role):
            return who
        raise HTTPException(403, f"token {who.name!r} lacks the role {role.value!r}")

    return check


viewer = require(ApiRole.VIEWER)
operator = require(ApiRole.OPERATOR)
approver = require(ApiRole.APPROVER)
