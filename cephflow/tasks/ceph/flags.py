"""Cluster flags (``noout``...) and per-OSD ``noout``, set and cleared only by their owner.

A flag this workflow set is recorded as the fact ``flag.<name>`` (or ``noout.osd.<id>``)
*before* setting it, so a step that dies half-way still owns it on its retry, and the cleanup
clears only flags the workflow set: an operator's own ``noout`` is left alone.
``claim_flag`` and ``release_flag`` are the one place that rule is kept: the tasks here and
a pause (``operations/pause.py``, ``norebalance`` and ``nobackfill``) both go through them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

from cephflow.ceph.client import CLUSTER_FLAGS, CephClient
from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.errors import StepFailed
from cephflow.tasks.ceph.common import ceph, existing_osd


def flag_key(flag: str) -> str:
    """The fact that says this workflow owns cluster flag ``flag`` (``flag.<name>``)."""
    return f"flag.{flag}"


class Facts(Protocol):
    """Where ownership is recorded: a step's context, or the workflow seen from outside
    (``operations/pause.py``): the workflow's facts either way."""

    def fact(self, key: str, default: Any = None) -> Any: ...

    def set_fact(self, key: str, value: Any) -> None: ...


class Claim(StrEnum):
    """What ``claim_flag`` found and did."""

    SET = "set"
    """It was not set: this workflow set it (and owns it)."""
    OURS = "ours"
    """This workflow had set it already (a try that died after setting it): nothing sent."""
    THEIRS = "theirs"
    """Someone else (an operator) had set it: left as it is, not ours."""


def claim_flag(client: CephClient, facts: Facts, flag: str) -> Claim:
    """Set cluster flag ``flag`` unless it is set, recording *before* setting it that this
    workflow owns it (fact ``flag.<name>``): the one way a workflow takes a flag."""
    if flag not in CLUSTER_FLAGS:
        raise StepFailed(f"unknown cluster flag {flag!r} (one of {', '.join(sorted(CLUSTER_FLAGS))})")
    ours = facts.fact(flag_key(flag))
    if flag in client.osd_dump().flags:
        return Claim.OURS if ours else Claim.THEIRS
    facts.set_fact(flag_key(flag), True)
    client.set_flag(flag)
    return Claim.SET


def release_flag(client: CephClient, facts: Facts, flag: str, *,
                 only_ours: bool = True) -> bool | None:
    """Clear ``flag`` if this workflow set it (any holder's with ``only_ours=False``): the
    one way a workflow gives a flag back. True: cleared now; None: cleared before; False:
    not ours, left as it is."""
    ours = facts.fact(flag_key(flag))
    if ours is False:
        return None
    if only_ours and not ours:
        return False
    if flag in client.osd_dump().flags:
        client.unset_flag(flag)
    facts.set_fact(flag_key(flag), False)
    return True


@task("ceph.set_flag", redo_on_resume=True)
def set_flag(ctx: StepContext, *, flag: str = "noout") -> dict:
    """Set a cluster flag (``noout``, ``norebalance``...) and remember that this workflow did."""
    claim = claim_flag(ceph(ctx), ctx, flag)
    if claim is Claim.OURS:
        ctx.progress(f"{flag} already set by this workflow")
    elif claim is Claim.THEIRS:
        ctx.progress(f"{flag} was already set (not by this workflow): left as it is")
    else:
        ctx.progress(f"{flag} set")
    return {"flag": flag, "ours": claim is not Claim.THEIRS}


@task("ceph.unset_flag")
def unset_flag(ctx: StepContext, *, flag: str = "noout", only_ours: bool = True) -> dict:
    """Clear a cluster flag this workflow set (any flag with ``only_ours: false``)."""
    if not only_ours or ctx.fact(flag_key(flag)) is not None:
        released = release_flag(ceph(ctx), ctx, flag, only_ours=only_ours)
    else:
        released = False  # never ours: no need to ask the cluster
    if released is None:
        ctx.progress(f"{flag} already cleared by this workflow")
        return {"flag": flag, "cleared": True}
    if released is False:
        ctx.progress(f"{flag} not set by this workflow: left as it is")
        return {"flag": flag, "cleared": False}
    ctx.progress(f"{flag} cleared")
    return {"flag": flag, "cleared": True}


@task("ceph.add_noout", redo_on_resume=True)
def add_noout(ctx: StepContext, *, osd: int) -> dict:
    """Set ``noout`` on one OSD only (the cluster flag stays as it is)."""
    client = ceph(ctx)
    state = existing_osd(client, osd)
    if state.noout and not ctx.fact(f"noout.osd.{osd}"):
        ctx.progress(f"osd.{osd} already had noout (not by this workflow)")
        return {"osd": osd, "ours": False}
    ctx.set_fact(f"noout.osd.{osd}", True)
    client.add_noout(osd)
    ctx.progress(f"osd.{osd} noout set")
    return {"osd": osd, "ours": True}


@task("ceph.rm_noout")
def rm_noout(ctx: StepContext, *, osd: int, only_ours: bool = True) -> dict:
    """Clear the per-OSD ``noout`` this workflow set."""
    if only_ours and not ctx.fact(f"noout.osd.{osd}"):
        return {"osd": osd, "cleared": False}
    client = ceph(ctx)
    state = client.osd_dump().osds.get(osd)
    if state is not None and state.noout:
        client.rm_noout(osd)
    ctx.set_fact(f"noout.osd.{osd}", False)
    ctx.progress(f"osd.{osd} noout cleared")
    return {"osd": osd, "cleared": True}


ACCEPTED_FLAGS = "flags.accepted"
"""Fact: the operator's flags a run started with ``--force`` knowingly went on under."""


def our_flags(ctx: StepContext) -> frozenset[str]:
    """The cluster flags this workflow set and still holds (fact ``flag.<name>`` is True)."""
    return frozenset(f for f in CLUSTER_FLAGS if ctx.fact(flag_key(f)))


def our_flag_checks(ctx: StepContext) -> list[str]:
    """Health checks caused by flags this workflow holds, or that its operator accepted with
    ``--force`` (tolerated while it waits: a wait for them to go would never end)."""
    checks = []
    if our_flags(ctx) or ctx.fact(ACCEPTED_FLAGS):
        checks.append("OSDMAP_FLAGS")
    return checks
