"""``/api/v1/me``: who the token is, so the page shows only the buttons its roles allow."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from cephflow.operations.api_tokens import Caller
from cephflow.web import auth

router = APIRouter(tags=["access"])


@router.get("/me")
def whoami(who: Caller = Depends(auth.viewer)) -> dict[str, object]:
    """The token's name, user and roles (never the token)."""
    return {"token": who.name, "user": who.user, "roles": sorted(r.value for r in who.roles)}
