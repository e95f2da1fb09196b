"""Schedules: list them with their last and next run, and fire one at a fire time.

A schedule (``[schedules.<name>]``, ``ScheduleSettings``) names a runbook, its params and a
cron expression; ``cephflow scheduler`` (``operations/scheduler.py``) decides when a fire
time has come and calls ``fire``, which plans and submits through the same operations as
``cephflow run``, as the user ``scheduler:<name>`` (the audit record and the history name
it). A fire that must not run is a skip with its reason, never an error: outside the
schedule's window, its previous run still running (``overlap = "skip"``), or a lock the
runbook needs held by another workflow. A runbook that cannot be planned or submitted is a
failed fire with the error; the next fire time is tried again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from cephflow.engine.client import WorkflowClient
from cephflow.engine.schedules import FireOutcome, ScheduleRecord, ScheduleStore
from cephflow.errors import CephflowError, LockHeld, WorkflowNotFound
from cephflow.operations import plan, workflows
from cephflow.runbook.dag import REDACTED
from cephflow.settings import Overlap, ScheduleSettings, get_settings, load_settings

log = logging.getLogger(__name__)

USER_PREFIX = "scheduler:"


def user_of(name: str) -> str:
    """Who a schedule's runs are submitted as (the audit record, the history)."""
    return f"{USER_PREFIX}{name}"


def cron_of(schedule: ScheduleSettings) -> str:
    """The cron expression and time zone, as stored with a computed next fire time."""
    return f"{schedule.cron} {schedule.timezone}"


def local_time(schedule: ScheduleSettings, epoch: float) -> str:
    """``epoch`` in the schedule's time zone, ISO 8601 with its offset."""
    return datetime.fromtimestamp(epoch, schedule.zone()).isoformat()


@dataclass(frozen=True)
class Fired:
    """How one fire time of a schedule ended."""

    name: str
    fire: float
    """The fire time (epoch seconds)."""
    outcome: FireOutcome
    workflow: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ScheduleView:
    """A schedule as ``cephflow schedules`` shows it."""

    name: str
    settings: ScheduleSettings
    record: ScheduleRecord
    next: float
    """The next fire time: the scheduler's, or (none yet, the settings changed since, or
    it has passed: no scheduler runs) the first one after now."""
    params: dict[str, object]
    """Its params as shown: those the runbook declares secret (every one, when the runbook
    cannot be read) as ``REDACTED``."""


@dataclass(frozen=True)
class Schedules:
    """Every configured schedule, and which scheduler leads (None: no scheduler runs)."""

    schedules: list[ScheduleView]
    leader: str | None
    now: float


class LastFire(BaseModel):
    """A schedule's last fire time and how it ended."""

    fire: float | None
    """The fire time (epoch seconds)."""
    at: float | None
    """When it was handled."""
    outcome: FireOutcome
    workflow: str | None
    """The workflow it submitted."""
    reason: str | None
    """Why it was skipped or failed."""


class ScheduleShown(BaseModel):
    """One schedule as ``cephflow schedules --json`` and ``GET /api/v1/schedules`` show it."""

    name: str
    runbook: str
    params: dict[str, object]
    """Its params; those the runbook declares secret as ``**********``."""
    cron: str
    timezone: str
    window: str | None
    """``HH:MM-HH:MM`` in ``timezone`` in which a run may start (None: any time)."""
    overlap: Overlap
    last: LastFire | None
    """None: it never fired."""
    next: float
    """The next fire time (epoch seconds)."""


class SchedulesShown(BaseModel):
    """Every configured schedule, which scheduler leads (None: none runs), and Redis's now."""

    leader: str | None
    now: float
    schedules: list[ScheduleShown]


def shown(listed: Schedules) -> SchedulesShown:
    """``listed`` as the front ends give it as data (one shape for the CLI and the API)."""
    def one(view: ScheduleView) -> ScheduleShown:
        s, r = view.settings, view.record
        last = None if r.outcome is None else LastFire(
            fire=r.fire, at=r.at, outcome=r.outcome, workflow=r.workflow, reason=r.reason)
        return ScheduleShown(name=view.name, runbook=s.runbook, params=view.params,
                             cron=s.cron, timezone=s.timezone, window=s.window,
                             overlap=s.overlap, last=last, next=view.next)

    return SchedulesShown(leader=listed.leader, now=listed.now,
                          schedules=[one(view) for view in listed.schedules])


def store_of(client: WorkflowClient) -> ScheduleStore:
    return ScheduleStore(client.redis, client.ns)


def configured() -> dict[str, ScheduleSettings]:
    """The schedules of the settings, by name."""
    return dict(get_settings().schedules)


def reread() -> dict[str, ScheduleSettings]:
    """The schedules of the settings read again (the config file may have changed), by name.

    Raises ConfigError, and changes nothing, when the settings do not read; otherwise the
    process's settings are the new ones from here on (a fire plans with them).
    """
    schedules = dict(load_settings().schedules)
    get_settings.cache_clear()
    return schedules


def list_schedules(client: WorkflowClient) -> Schedules:
    """Every configured schedule with its last outcome and next fire time, by name."""
    store = store_of(client)
    schedules = configured()
    names = sorted(schedules)
    records = store.read(names)
    now = store.now()
    views = []
    for name in names:
        schedule, record = schedules[name], records[name]
        planned = record.next is not None and record.cron == cron_of(schedule)
        upcoming = record.next if planned and record.next >= now else schedule.next_after(now)
        views.append(ScheduleView(name, schedule, record, upcoming, shown_params(schedule)))
    return Schedules(views, store.leader(), now)


def shown_params(schedule: ScheduleSettings) -> dict[str, object]:
    """The schedule's params with the runbook's secret ones redacted."""
    try:
        declared = plan.open_runbook(schedule.runbook).decl.params
    except CephflowError:  # unreadable now: it fails at its fire; show no value meanwhile
        return dict.fromkeys(schedule.params, REDACTED)
    return {name: REDACTED if name in declared and declared[name].secret else value
            for name, value in schedule.params.items()}


def fire(client: WorkflowClient, name: str, schedule: ScheduleSettings, at: float,
         record: ScheduleRecord) -> Fired:
    """Run fire time ``at`` of schedule ``name``: submit its runbook, or say why not.

    ``record`` is the schedule's record before this fire (its previous run). Never raises
    for what the runbook, its params or the cluster do wrong: that is a failed fire.
    """
    if not schedule.in_window(at):
        return Fired(name, at, FireOutcome.SKIPPED,
                     reason=f"outside the window {schedule.window} ({schedule.timezone})")
    if schedule.overlap is Overlap.SKIP and record.run:
        try:
            state = client.state(record.run)
        except WorkflowNotFound:  # expired: it ended long ago
            state = None
        if state is not None and not state.terminal:
            return Fired(name, at, FireOutcome.SKIPPED,
                         reason=f"the previous run {record.run} is still {state.value}")
    try:
        runbook = plan.open_runbook(schedule.runbook)
        compiled = plan.plan(runbook, schedule.params, cluster=schedule.cluster)
        submitted = workflows.submit(compiled.dag, client=client, given=compiled.given,
                                     cluster=compiled.cluster,
                                     user=user_of(name))
    except LockHeld as exc:
        return Fired(name, at, FireOutcome.SKIPPED,
                     reason=f"lock {exc.lock!r} is held by workflow {exc.holder}")
    except CephflowError as exc:  # the scheduler prints it; the record keeps it
        return Fired(name, at, FireOutcome.FAILED, reason=str(exc))
    except Exception as exc:  # a bug must not stop every other schedule: logged in full
        log.exception("schedule %s: fire at %s", name, local_time(schedule, at))
        return Fired(name, at, FireOutcome.FAILED, reason=f"{type(exc).__name__}: {exc}")
    return Fired(name, at, FireOutcome.SUBMITTED, workflow=submitted.workflow_id)
