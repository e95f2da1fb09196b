"""Workflows: submit one, list them, read one, decide its gates, cancel, resume and retry it.

Every function but ``connect`` and ``submit`` takes the engine's client first, so a front
end that serves many requests (the web API) keeps one client, and the CLI makes one per
command. Workflow ids may be abbreviated to a unique prefix wherever a user types one; the
results carry the full id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cephflow.ceph.identity import check_one_cluster
from cephflow.engine import embedded
from cephflow.engine.client import WorkflowClient
from cephflow.engine.connection import OutageReporter, set_outage_reporter
from cephflow.engine.embedded import ServiceStatus
from cephflow.engine.gates import GateDecision
from cephflow.engine.state import (
    HistoryEntry,
    WorkflowSnapshot,
    WorkflowState,
    WorkflowSummary,
)
from cephflow.operations import steps
from cephflow.runbook.barrier import step_count
from cephflow.runbook.dag import Dag
from cephflow.settings import get_settings


@dataclass(frozen=True)
class Submitted:
    """A workflow just submitted."""

    workflow_id: str
    runbook: str
    steps: int
    """Steps as a plan counts them (a fan-out's members each; no internal barriers)."""
    client: WorkflowClient = field(repr=False, compare=False)
    """The client it was submitted through, to follow it with."""
    started: list[ServiceStatus] = field(default_factory=list)
    """The embedded services this submit started in the background (PIDs, logs)."""


@dataclass(frozen=True)
class WorkflowFilter:
    """Which workflows a list shows: each field given must match (``None``: any)."""

    state: WorkflowState | None = None
    runbook: str | None = None
    user: str | None = None
    since: float | None = None
    """Submitted at or after this time (epoch seconds)."""
    cluster: str | None = None
    """Works on this cluster (``Settings.clusters``; the listing covers every cluster)."""

    def active(self) -> bool:
        return any(v is not None
                   for v in (self.state, self.runbook, self.user, self.since, self.cluster))

    def admits(self, summary: WorkflowSummary) -> bool:
        return ((self.state is None or summary.state == self.state)
                and (self.cluster is None or summary.cluster == self.cluster)
                and (self.runbook is None or summary.runbook == self.runbook)
                and (self.user is None or summary.submitted_by == self.user)
                and (self.since is None or summary.submitted_at >= self.since))


@dataclass(frozen=True)
class Decision:
    """Gates approved or rejected."""

    workflow_id: str
    gates: list[GateDecision]
    """What each gate named holds now (a step's open gates, or the one node named): the
    decision just made, or (``already``) the same one made before."""


@dataclass(frozen=True)
class Cancelled:
    """A workflow told to cancel."""

    workflow_id: str
    left: list[str]
    """What its steps changed that cancelling does not undo (``resume`` goes on from there)."""


@dataclass(frozen=True)
class Connected:
    """The engine's client, and the embedded services connecting started."""

    client: WorkflowClient
    started: list[ServiceStatus]
    """Started in the background; those that had died carry the dead PID (``was``)."""


def connect(*, services: bool = True) -> WorkflowClient:
    """The engine's client for the configured Redis (``open_client`` without what it started)."""
    return open_client(services=services).client


def open_client(*, services: bool = True) -> Connected:
    """The engine's client for the configured Redis, and the embedded services it started.

    With no ``redis_url`` (the embedded default) the private redis-server is started if it
    is not running, and with ``services`` the local worker too, so that what a command
    unblocks (a gate, the finally steps) actually runs. Without ``services`` a worker that
    died is still started again (``embedded.revive``): its workflows would stall otherwise,
    while one stopped by ``services stop`` stays stopped.
    """
    settings = get_settings()
    started: list[ServiceStatus] = []
    if services:
        started = embedded.ensure_services(settings)
    elif not settings.redis_url:
        started = embedded.revive(settings)
        embedded.start_redis(settings)
    return Connected(WorkflowClient(settings), started)


def watch_redis(reporter: OutageReporter) -> OutageReporter:
    """Let ``reporter`` hear that Redis is away (each retry) and back; returns the previous one.

    A front end shows the outage its own way (the CLI: one line, or a status line under the
    live tree) instead of a log line per retry. Past ``redis_patience`` the call waiting for
    Redis raises RedisUnreachable.
    """
    return set_outage_reporter(reporter)


def submit(dag: Dag, *, client: WorkflowClient | None = None,
           given: Mapping[str, object] | None = None, user: str | None = None,
           cluster: str | None = None) -> Submitted:
    """Submit ``dag``; returns its id. Connects (services started) unless given ``client``.

    ``given`` are the params as the user typed them (``Plan.given``), which views show;
    ``user`` is who submits (default: the OS user; the web API: the token's user);
    ``cluster`` the cluster it works on (``Plan.cluster``; None: the chosen or default one).

    Raises ClusterMismatch before anything is started or written when the settings name two
    clusters, ConfigError for an unknown cluster, LockHeld when another workflow holds a lock
    the runbook needs on that cluster, ClusterBusy when it runs its ``max_workflows``.
    """
    check_one_cluster(get_settings().for_cluster(cluster).ceph)
    started: list[ServiceStatus] = []
    if client is None:
        opened = open_client(services=True)
        client, started = opened.client, opened.started
    wf = client.submit(dag, given=given, user=user, cluster=cluster)
    return Submitted(wf, dag.runbook, step_count(dag.nodes), client, started)


def cluster_filter(cluster: str | None) -> WorkflowFilter:
    """The filter of a listing by cluster (None: every cluster's workflows). Raises
    ConfigError for a name no configured cluster has, so a typo is not an empty list."""
    if cluster is None:
        return WorkflowFilter()
    return WorkflowFilter(cluster=get_settings().resolve_cluster(cluster))


def list_workflows(client: WorkflowClient, limit: int = 20, *,
                   filters: WorkflowFilter | None = None, offset: int = 0) -> list[WorkflowSummary]:
    """The ``limit`` most recent workflows that pass ``filters``, newest first, after
    skipping the first ``offset`` of them (a page)."""
    if filters is None or not filters.active():
        return client.list_workflows(offset + limit)[offset:]
    matching = [s for s in client.list_workflows(None) if filters.admits(s)]
    return matching[offset:offset + limit]


def history(client: WorkflowClient, workflow_id: str | None = None, *, user: str | None = None,
            since: float | None = None, limit: int = 50) -> list[HistoryEntry]:
    """Who ran, approved, rejected, cancelled, resumed and retried what, and when: the newest
    ``limit`` entries, oldest first, of ``workflow_id`` (an id or the start of one; expired
    workflows too) and ``user``, in the last ``since`` seconds."""
    return client.history(workflow_id, user=user, since=since, limit=limit)


def resolve(client: WorkflowClient, workflow_id: str) -> str:
    """The full id of ``workflow_id`` (an id or a unique prefix of one)."""
    return client.resolve_id(workflow_id)


def snapshot(client: WorkflowClient, workflow_id: str) -> WorkflowSnapshot:
    """Workflow ``workflow_id`` (an id or a unique prefix) as it is now."""
    return client.snapshot(client.resolve_id(workflow_id))


def step(client: WorkflowClient, workflow_id: str, name: str) -> tuple[WorkflowSnapshot, str]:
    """Workflow ``workflow_id`` and the node ``name`` means in it (``steps.find_node``), with
    that node's output read in."""
    shown = snapshot(client, workflow_id)
    node_id = steps.find_node(shown, name)
    shown.nodes[node_id].output = client.output(shown.id, node_id)
    return shown, node_id


def approve(client: WorkflowClient, workflow_id: str, step: str, *,
            user: str | None = None, early: bool = False) -> Decision:
    """Approve the approval gate ``step`` (a step or node id); ``user`` defaults to the OS user.

    Refused (InvalidTransition) for a gate not reached yet unless ``early``; approving a gate
    approved before records nothing and says who approved it (``GateDecision.already``).
    """
    wf = client.resolve_id(workflow_id)
    return Decision(wf, client.approve(wf, step, user=user, early=early))


def reject(client: WorkflowClient, workflow_id: str, step: str, *, reason: str,
           user: str | None = None, early: bool = False) -> Decision:
    """Reject the approval gate ``step``: the step fails with ``reason`` (rules as ``approve``)."""
    wf = client.resolve_id(workflow_id)
    return Decision(wf, client.reject(wf, step, user=user, reason=reason, early=early))


def cancel(client: WorkflowClient, workflow_id: str, *, user: str | None = None) -> Cancelled:
    """Cancel: nothing new starts, running steps finish, finally steps run."""
    wf = client.resolve_id(workflow_id)
    client.cancel(wf, user=user)
    return Cancelled(wf, client.left_changes(wf))


def resume(client: WorkflowClient, workflow_id: str, *, from_step: str | None = None,
           user: str | None = None) -> str:
    """Re-run a failed or cancelled workflow from its failed steps; returns its full id.

    With ``from_step`` that step and every step after it run again too, and the workflow
    may also have succeeded (``WorkflowControl.resume``); an unknown step is refused
    (StepNotFound, bad input) before anything changes.
    """
    wf = client.resolve_id(workflow_id)
    client.resume(wf, from_step=from_step, user=user)
    return wf


def retry(client: WorkflowClient, workflow_id: str, step: str, *,
          user: str | None = None) -> str:
    """Re-run the failed step ``step`` of a failed workflow and the steps it stopped; returns
    the workflow's full id. Other failed steps stay failed, so the workflow ends failed again
    unless there are none (``WorkflowControl.retry``)."""
    wf = client.resolve_id(workflow_id)
    client.retry(wf, step, user=user)
    return wf
