"""What the ceph_* task modules share: the client and host backend of a step, and small checks.

Holds no tasks itself. Kept beside them so every task reaches the cluster the same way.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from cephflow.ceph.access import client_for
from cephflow.ceph.client import CephClient
from cephflow.ceph.hosts import HostOps, hosts_for
from cephflow.ceph.identity import check_one_cluster
from cephflow.ceph.models import OsdDump, OsdState, PgList
from cephflow.engine.context import NotYet, StepContext
from cephflow.engine.registry import worker_check
from cephflow.errors import CannotTellYet, CephError, HostKeyError, StepFailed, TransportError
from cephflow.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

WEIGHT_EPSILON = 1.0 / 65536 * 1.5
"""CRUSH weights are 16.16 fixed point: values closer than this are the same weight."""


@worker_check
def one_cluster(settings: Settings) -> None:
    """A worker whose Ceph commands and host operations name two clusters does not start."""
    check_one_cluster(settings.ceph)


def ceph(ctx: StepContext) -> CephClient:
    return client_for(ctx.settings)


def hosts(ctx: StepContext) -> HostOps:
    return hosts_for(ctx.settings)


def host_of(client: CephClient, osd: int, host: str | None = None) -> str:
    """The CRUSH host of ``osd`` (``host`` if given)."""
    if host:
        return host
    found = client.osd_tree().host_of(osd)
    if not found:
        raise CephError(f"osd.{osd} is not under any CRUSH host")
    return found


def existing_osd(client: CephClient, osd: int) -> OsdState:
    """``osd``'s entry in the OSD map; StepFailed when there is none (a typo, or purged)."""
    state = client.osd_dump().osds.get(osd)
    if state is None:
        raise StepFailed(f"osd.{osd} does not exist")
    return state


def same_weight(a: float, b: float) -> bool:
    return abs(a - b) <= WEIGHT_EPSILON


def pct(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"


def settled(ctx: StepContext, pgs: PgList, since: int, settle: float, dump: OsdDump | None = None) -> bool:
    """Whether the PG stats can be trusted to show the change made at osdmap epoch ``since``.

    Never while a PG is peering, activating or unknown (such a PG reports 0 misplaced until
    it has peered), nor while the osdmap (``dump``, read now when not given) remaps a PG that
    the stats do not show as remapped: both mean the stats have not caught up. Then true
    once some PG reported at ``since`` or later (the change reached the stats), or when the
    stats have looked the same for ``settle`` seconds (a change that moved no PG, e.g. a
    flag). Uses the node memo ``quiet_since``; callers reset it when they see movement.
    """
    if dump is None:
        dump = ceph(ctx).osd_dump()
    if pgs.unsettled(dump.pg_temp):
        ctx.remember("quiet_since", None)
        return False
    if pgs.reflects(since):
        return True
    first = ctx.memo.get("quiet_since")
    now = time.time()
    if first is None:
        ctx.remember("quiet_since", now)
        return settle <= 0
    return now - float(first) >= settle


def through_outages(fn: F) -> F:
    """A waiting Ceph task waits through an outage of what it asks, and says so.

    A read that cannot be run (``TransportError``: the mgr or mon gives no answer, SSH to the
    admin host is down) does not fail the step: the check ends with "mgr unreachable for
    95 s: ..." and runs again, until the step's own deadline. So does an answer that Ceph
    cannot judge yet (``CannotTellYet``: PGs in an unknown state after a mgr restart). Since when is kept in the
    node memo ``unreachable_since`` and forgotten at the first check that gets through.
    """

    @functools.wraps(fn)
    def check(ctx: StepContext, **args: Any) -> Any:
        try:
            result = fn(ctx, **args)
        except NotYet:
            _reached(ctx)
            raise
        except HostKeyError:
            raise  # no outage: a refused host key waits for an operator, not for time
        except CannotTellYet as exc:  # Ceph answered: it cannot judge yet (unknown PGs)
            _reached(ctx)
            ctx.not_yet(f"waiting: {exc}", countdown=2.0)
        except TransportError as exc:
            now = ctx.now()  # the engine's clock: re-sends may run on other hosts
            first = ctx.memo.get("unreachable_since")
            if first is None:
                first = now - float(getattr(exc, "waited", 0.0))
                ctx.remember("unreachable_since", first)
            who = getattr(exc, "who", "Ceph")
            ctx.not_yet(f"{who} unreachable for {now - float(first):.0f} s: {exc}", countdown=2.0)
        _reached(ctx)
        return result

    return check  # type: ignore[return-value]


def _reached(ctx: StepContext) -> None:
    if ctx.memo.get("unreachable_since") is not None:
        ctx.remember("unreachable_since", None)
