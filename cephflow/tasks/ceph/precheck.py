"""The prechecks as a plan-time lookup and as a workflow's first step.

``discover: {precheck: {lookup: ceph.precheck, ...}}`` refuses a plan (exit 2, nothing
submitted) when the cluster is not fit for the work; the ``ceph.precheck`` step asks again
right before the first change, because a plan made at 09:00 may run at 14:00. Both call
``cephflow.ceph.prechecks.evaluate`` on one fresh ``ClusterView``; which OSDs are "failed"
(their warnings explained) is read from the cluster, not trusted from the plan.
"""

from __future__ import annotations

from cephflow.ceph.access import client_for
from cephflow.ceph.client import CephClient
from cephflow.ceph.prechecks import (
    OPERATOR_FLAGS,
    ClusterView,
    Finding,
    Work,
    evaluate,
    refusals,
)
from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.errors import CephError, UnsafeOperation
from cephflow.runbook.catalog import lookup
from cephflow.settings import get_settings
from cephflow.task_names import PRECHECK_TASK
from cephflow.tasks.ceph.common import ceph
from cephflow.tasks.ceph.discover import failing_osds
from cephflow.tasks.ceph.flags import ACCEPTED_FLAGS, our_flags


def check(client: CephClient, osds: list[int], *, leaving: bool, force: bool,
          own_flags: set[str] | None = None) -> tuple[list[Finding], list[Finding]]:
    """(every finding, the refusing ones) for work on ``osds``."""
    view = ClusterView.read(client)
    targets = {int(o) for o in osds}
    work = Work(leaving=targets if leaving else set(),
                failed=targets & set(failing_osds(view.tree, view.dump, view.health)),
                own_flags=own_flags or set())
    findings = evaluate(view, work)
    return findings, refusals(findings, force=force)


def _lines(findings: list[Finding], refused: list[Finding]) -> list[str]:
    return [("ok  " if f.ok else ("NO  " if f in refused else "forced ")) + str(f)
            for f in findings]


def _refusal(refused: list[Finding], force: bool) -> str:
    forceable = any(f.forceable for f in refused) and not force
    return ("refused before any change: " + " | ".join(str(f) for f in refused)
            + (" (add --force to go on where that is allowed)" if forceable else ""))


@lookup(PRECHECK_TASK)
def lookup_precheck(osds: list[int], leaving: bool = True, force: bool = False) -> list[str]:
    """Whether the cluster is fit for work on these OSDs; refuses the plan if not."""
    findings, refused = check(client_for(get_settings()), osds, leaving=leaving, force=force)
    if refused:
        raise CephError(_refusal(refused, force))
    return _lines(findings, refused)


@task(PRECHECK_TASK)
def precheck(ctx: StepContext, *, osds: list[int], leaving: bool = True, force: bool = False,
             planned: list[str] | None = None) -> dict:
    """Check again, right before the first change, what the plan checked (``planned``)."""
    own = set(our_flags(ctx))
    findings, refused = check(ceph(ctx), osds, leaving=leaving, force=force, own_flags=own)
    if refused:
        raise UnsafeOperation(_refusal(refused, force))
    if force:  # knowingly accepted: later waits name them but do not wait for them to go
        flags = set(ceph(ctx).osd_dump().flags) & set(OPERATOR_FLAGS)
        ctx.set_fact(ACCEPTED_FLAGS, sorted(flags - own))
    lines = _lines(findings, refused)
    ctx.progress("; ".join(line.split(":", 1)[0].split(None, 1)[-1] + " ok" for line in lines))
    return {"findings": lines}
