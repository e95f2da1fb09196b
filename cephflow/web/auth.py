"""Who is calling, and may they: a bearer token from the settings, checked for a role.

No token (or one no setting names) is 401; a token without the role the call needs is 403;
a call without a token may instead come through a trusted reverse proxy that names its user
(single sign-on, off by default: ``api.proxy_user_header``), with that user's roles from
``api.proxy_roles``;
an address with too many failed calls in the last minute is 429 (``ratelimit``). The
caller's user is what the audit history records for whatever the call changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cephflow.operations.api_tokens import Caller, caller_of, proxied_caller
from cephflow.settings import ApiRole, get_settings

_bearer = HTTPBearer(auto_error=False, description="An API token (`cephflow api-token`).")

def caller(request: Request,
           credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Caller:
    limit = request.app.state.auth_failures
    address = request.client.host if request.client else "?"
    wait = limit.blocked_for(address)
    if wait > 0:
        raise HTTPException(429, f"too many calls without a valid token from {address}: "
                            f"wait {math.ceil(wait)} s", headers={"Retry-After": str(math.ceil(wait))})
    found = caller_of(credentials.credentials if credentials else None)
    if found is None and credentials is None:
        found = _proxied(request, address)
    if found is None:
        limit.failed(address)
        raise HTTPException(401, "a valid API token is needed (Authorization: Bearer TOKEN)",
                            headers={"WWW-Authenticate": "Bearer"})
    return found


def _proxied(request: Request, address: str) -> Caller | None:
    """The user a trusted reverse proxy signed in (``api.proxy_user_header``), if it is on."""
    api = get_settings().api
    if not api.proxy_user_header or address not in api.proxy_addresses:
        return None
    user = (request.headers.get(api.proxy_user_header) or "").strip()
    return proxied_caller(user) if user else None


def require(role: ApiRole) -> Callable[[Caller], Caller]:
    """A dependency that admits callers holding ``role`` (every role reads)."""

    def check(who: Caller = Depends(caller)) -> Caller:
        if who.may(role) or (role is ApiRole.VIEWER and who.roles):
            return who
        raise HTTPException(403, f"token {who.name!r} lacks the role {role.value!r}")

    return check


viewer = require(ApiRole.VIEWER)
operator = require(ApiRole.OPERATOR)
approver = require(ApiRole.APPROVER)
