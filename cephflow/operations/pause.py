"""Pause and unpause a workflow: hold its DAG, and freeze the data movement it causes.

A pause is two things. The engine holds the workflow (``WorkflowControl.pause``: no new
main step starts, no waiting step checks again; the finally steps are never held). And for
a workflow whose runbook moves data (``Dag.moves_data``) the cluster flags ``norebalance``
and ``nobackfill`` freeze the movement already under way: each is set only where it is not
set already, and recorded as this workflow's (fact ``flag.<name>``, the same ownership the
``ceph.set_flag`` task keeps, through ``claim_flag``) before it is set. The fact
``pause.flags`` lists the flags the pause holds (named before they are set). Unpause lifts
exactly those (``release_flag``): never a flag an operator set, nor one a step of the
workflow set (that step's runbook lifts it). A workflow cancelled, or failed, while paused has them lifted
by its runbook's finally steps (``ceph.unset_flag``: only this workflow's).

A paused workflow's waiting steps do not run, so they no longer keep its silences alive
(``tasks/downtime.keep_alive``): the pause extends each of the workflow's downtimes to end
no sooner than ``alertmanager.pause_extension`` from now.

Ceph and the monitoring backends are reached with this process's settings, so a workflow
of another cluster (meta ``cluster``) is refused before anything changes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from cephflow.ceph.access import client_for
from cephflow.ceph.client import CephClient
from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import Pause, WorkflowSnapshot
from cephflow.errors import InvalidTransition, MonitoringError
from cephflow.operations import workflows
from cephflow.settings import get_settings, use_cluster
from cephflow.tasks.ceph.flags import Claim, claim_flag, flag_key, release_flag

PAUSE_FLAGS = ("norebalance", "nobackfill")
"""What freezes data movement: no PG starts rebalancing, none goes on backfilling."""

PAUSE_FLAGS_FACT = "pause.flags"
"""Fact: the flags the workflow's pause set and holds (a list; empty when it holds none)."""


@dataclass(frozen=True)
class Paused:
    """A workflow paused (now, or before: ``already``)."""

    workflow_id: str
    pause: Pause
    already: bool
    """It was paused already: the first pause's who, when and why stand."""
    moves_data: bool
    flags: list[str] = field(default_factory=list)
    """The flags the pause holds (set by it; none when the runbook moves no data)."""
    left: list[str] = field(default_factory=list)
    """Flags that were set already by someone else: left as they are, not ours to lift."""
    silences: list[tuple[str, float]] = field(default_factory=list)
    """The workflow's live downtimes, extended where they ended sooner: (name, end, epoch s)."""
    silence_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Unpaused:
    """A workflow's pause lifted."""

    workflow_id: str
    sent: int
    """Held steps sent again."""
    lifted: list[str] = field(default_factory=list)
    """The flags the pause had set, now cleared."""


class _WorkflowFacts:
    """A workflow's facts seen from outside a step (``flags.Facts``)."""

    def __init__(self, client: WorkflowClient, wf: str):
        self.client, self.wf = client, wf

    def fact(self, key: str, default: Any = None) -> Any:
        value = self.client.get_fact(self.wf, key)
        return default if value is None else value

    def set_fact(self, key: str, value: Any) -> None:
        self.client.set_fact(self.wf, key, value)


def pause(client: WorkflowClient, workflow_id: str, *, reason: str = "",
          user: str | None = None, ceph: CephClient | None = None) -> Paused:
    """Pause workflow ``workflow_id`` (an id or a unique prefix).

    Refused (InvalidTransition, nothing changed) for a workflow of another cluster than
    these settings reach, and for one that is not running its main steps. Pausing a paused
    workflow keeps its first pause and sets again any of its flags that went missing.
    """
    wf = client.resolve_id(workflow_id)
    snap = client.snapshot(wf)
    _same_cluster(snap, "pause")
    if snap.state.terminal:
        raise InvalidTransition(f"workflow {wf} has ended ({snap.state.value}): there is "
                                "nothing to pause")
    before = snap.pause
    made = client.pause(wf, user=user, reason=reason)
    flags: list[str] = []
    left: list[str] = []
    if snap.moves_data:
        facts = _WorkflowFacts(client, wf)
        ceph = ceph or client_for(get_settings())
        held = list(facts.fact(PAUSE_FLAGS_FACT, []))
        for flag in PAUSE_FLAGS:
            # a flag one of the workflow's own steps holds is that step's to lift, not ours
            by_a_step = flag not in held and facts.fact(flag_key(flag)) is True
            if not by_a_step and flag not in held:  # named first: a pause that dies
                held.append(flag)                   # half-way still lifts it on unpause
                facts.set_fact(PAUSE_FLAGS_FACT, held)
            if claim_flag(ceph, facts, flag) is Claim.THEIRS:
                left.append(flag)
                if flag in held:
                    held.remove(flag)
                    facts.set_fact(PAUSE_FLAGS_FACT, held)
            elif flag in held:
                flags.append(flag)
    silences, errors = _extend_silences(client, wf)
    return Paused(wf, made, before is not None, snap.moves_data, flags, left, silences, errors)


def unpause(client: WorkflowClient, workflow_id: str, *, user: str | None = None,
            ceph: CephClient | None = None) -> Unpaused:
    """Lift the pause of workflow ``workflow_id``: clear the flags it set (only those), then
    send the steps it held. Refused (InvalidTransition, nothing changed) for a workflow that
    is not paused or of another cluster."""
    wf = client.resolve_id(workflow_id)
    snap = client.snapshot(wf)
    _same_cluster(snap, "unpause")
    if snap.pause is None:
        raise InvalidTransition(f"workflow {wf} is not paused (it is {snap.state.value})")
    facts = _WorkflowFacts(client, wf)
    held = list(facts.fact(PAUSE_FLAGS_FACT, []))
    lifted: list[str] = []
    if held:
        ceph = ceph or client_for(get_settings())
        for flag in held:
            if release_flag(ceph, facts, flag):
                lifted.append(flag)
        facts.set_fact(PAUSE_FLAGS_FACT, [])
    return Unpaused(wf, client.unpause(wf, user=user), lifted)


@dataclass(frozen=True)
class Resumed:
    """What ``resume`` did: re-ran the workflow, or (a paused one) lifted its pause."""

    workflow_id: str
    unpaused: Unpaused | None = None


def resume(client: WorkflowClient, workflow_id: str, *, from_step: str | None = None,
           user: str | None = None) -> Resumed:
    """``cephflow resume``: a paused workflow (and no ``from_step``) is unpaused; any other is
    resumed (``workflows.resume``). One rule for every front end."""
    if from_step is None and is_paused(client, workflow_id):
        lifted = unpause(client, workflow_id, user=user)
        return Resumed(lifted.workflow_id, lifted)
    return Resumed(workflows.resume(client, workflow_id, from_step=from_step, user=user))


def is_paused(client: WorkflowClient, workflow_id: str) -> bool:
    """Whether workflow ``workflow_id`` is paused now (``cephflow resume`` unpauses it)."""
    return client.snapshot(client.resolve_id(workflow_id)).pause is not None


def _same_cluster(snap: WorkflowSnapshot, verb: str) -> None:
    """Act with the settings of the workflow's cluster: with ``[clusters]``, that cluster's
    (``use_cluster``, for the rest of this command); without, refuse a workflow of another
    cluster than the one these settings reach."""
    if snap.cluster and snap.cluster in get_settings().clusters:
        use_cluster(snap.cluster)
        return
    here = get_settings().cluster_name
    if snap.cluster and snap.cluster != here:
        raise InvalidTransition(
            f"workflow {snap.id} works on cluster {snap.cluster!r}, these settings reach "
            f"cluster {here!r}: {verb} it with that cluster's settings (CEPHFLOW_CLUSTER_NAME "
            "and its ceph settings)")


def _extend_silences(client: WorkflowClient,
                     wf: str) -> tuple[list[tuple[str, float]], list[str]]:
    """Extend each live downtime of ``wf`` to end no sooner than ``pause_extension`` from
    now (one that ends within ``extend_margin`` of that is left as it is); returns each
    downtime's end. Failures are collected, not raised (the pause itself stands)."""
    # lazy: the monitoring clients import httpx, which imports rich; importing this layer
    # stays free of any front end (tests/operations/test_operations_layer.py)
    from cephflow.tasks.downtime import extend_record
    from cephflow.tasks.downtime import fact_key as downtime_key

    settings = get_settings()
    until = time.time() + settings.alertmanager.pause_extension
    done: list[tuple[str, float]] = []
    errors: list[str] = []
    for key, record in sorted(client.facts(wf, downtime_key("")).items()):
        if not isinstance(record, dict) or record.get("cleared") or not record.get("handles"):
            continue
        if record["ends_at"] >= until - settings.alertmanager.extend_margin:
            done.append((record["name"], record["ends_at"]))  # long enough: left as it is
            continue
        extra = {"workflow_id": wf, "node_id": record.get("set_by"),
                 "host": record.get("host"), "marker": record["marker"]}
        try:
            record = extend_record(settings, record, until, extra,
                                   lambda r, k=key: client.set_fact(wf, k, r))
        except MonitoringError as exc:
            errors.append(f"downtime {record['name']!r}: {exc}")
            continue
        done.append((record["name"], record["ends_at"]))
    return done, errors
