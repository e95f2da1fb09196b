"""Who may decide an approval gate: one rule for ``cephflow approve``/``reject`` (checked by
the engine's client before it records a decision) and for the gate task (checked again before
it obeys one)."""

from __future__ import annotations

import grp
import pwd
from collections.abc import Iterable


def may_approve(user: str, approvers: Iterable[str] | str | None) -> bool:
    """True when ``user`` may decide a gate whose approvers are ``approvers``.

    An empty list lets anyone decide. Entries are OS user names, ``@group`` for the members
    of a Unix group (its primary members included), or ``<kind>:*`` for every user named
    ``<kind>:...`` (``dc:*``: whoever confirms with a datacentre link, recorded as ``dc:<name>``).
    """
    if not approvers:
        return True
    entries = [approvers] if isinstance(approvers, str) else [str(a) for a in approvers]
    if user in entries:
        return True
    if any(e.endswith(":*") and user.startswith(e[:-1]) for e in entries):
        return True
    return any(_in_group(user, e[1:]) for e in entries if e.startswith("@"))


def _in_group(user: str, group: str) -> bool:
    try:
        info = grp.getgrnam(group)
    except KeyError:
        return False
    if user in info.gr_mem:
        return True
    try:
        return pwd.getpwnam(user).pw_gid == info.gr_gid
    except KeyError:
        return False
