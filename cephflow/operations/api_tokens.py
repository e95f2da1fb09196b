"""API tokens: make one, and find the caller a presented token belongs to.

Only a token's SHA-256 is kept in the settings (``api.tokens``), so a settings file that
leaks gives no access. Tokens are 32 random bytes, which makes a plain hash as good as a
slow one; the comparison runs in constant time over every configured token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from cephflow.settings import ApiRole, ApiToken, get_settings

TOKEN_PREFIX = "cfl_"
"""Marks a cephflow token where it is pasted (secret scanners can look for it)."""


@dataclass(frozen=True)
class Caller:
    """Who an API call comes from: the token's user and roles."""

    name: str
    """The token's name in the settings."""
    user: str
    roles: frozenset[ApiRole]

    def may(self, role: ApiRole) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class NewToken:
    """A token just made: shown once, then only its hash is kept."""

    name: str
    token: str
    entry: ApiToken

    def toml(self) -> str:
        """The settings lines that admit it (``config.toml``)."""
        roles = ", ".join(f'"{r.value}"' for r in self.entry.roles)
        return (f'[api.tokens.{self.name}]\nsha256 = "{self.entry.sha256}"\n'
                f'user = "{self.entry.user}"\nroles = [{roles}]\n')


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(name: str, user: str, roles: Iterable[ApiRole]) -> NewToken:
    """A fresh random token for ``user`` with ``roles``, and the entry that admits it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return NewToken(name, token, ApiToken(sha256=digest(token), user=user, roles=list(roles)))


PROXY_CALLER = "proxy"
"""The ``Caller.name`` of a user signed in by the trusted reverse proxy."""


def proxied_caller(user: str) -> Caller:
    """The caller the trusted proxy names: its roles from ``api.proxy_roles`` (none when the
    user is not listed: every call is then refused for want of a role)."""
    roles = get_settings().api.proxy_roles.get(user, [])
    return Caller(PROXY_CALLER, user, frozenset(roles))


def caller_of(token: str | None) -> Caller | None:
    """The caller ``token`` admits, or None (no token, or one no setting names)."""
    if not token:
        return None
    presented = digest(token)
    found: Caller | None = None
    for name, entry in get_settings().api.tokens.items():
        if hmac.compare_digest(presented, entry.sha256) and found is None:
            found = Caller(name, entry.user, frozenset(entry.roles))
    return found
