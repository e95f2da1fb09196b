"""``cephflow scheduler``: the loop that fires the configured schedules.

Not Celery beat: beat keeps its schedule in a local file and has no leader, so two beats
fire everything twice. This loop keeps everything in the engine's Redis
(``engine/schedules.py``): any number of schedulers may run, one leads and fires, the others
stand by and take over within ``LEAD_TTL`` when it stops or dies; each fire time is claimed
once, so even two leaders for a moment submit it once. Each tick reads Redis's clock and,
for every schedule whose next fire time has come, claims the latest fire time not later
than now (fire times that passed while no scheduler ran collapse into it; one later than
the schedule's ``grace`` is recorded as missed, not run), fires it (``schedules.fire``),
records the outcome and the next fire time. A schedule seen for the first time, or whose
cron expression or zone changed, starts at its next fire time after now: nothing is caught
up. The schedules are read from the settings when the scheduler starts and again when asked
(``cephflow scheduler`` on SIGHUP): a config that does not read keeps the schedules it had.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cephflow.engine.client import WorkflowClient
from cephflow.engine.schedules import FireOutcome, ScheduleRecord, ScheduleStore, new_token
from cephflow.errors import CephflowError
from cephflow.operations import schedules as ops
from cephflow.operations.schedules import Fired
from cephflow.settings import ScheduleSettings

log = logging.getLogger(__name__)

LEAD_TTL = 10.0
"""Seconds the lead lasts unless renewed: how long schedulers stand by after the leader died
(a leader that stops cleanly hands over at once)."""
MAX_WAIT = 1.0
"""Longest pause between two ticks: the lead is renewed well within ``LEAD_TTL``, and a
stand-by notices soon that it may lead."""


class Scheduler:
    """One scheduler process: leads or stands by, and fires what is due while it leads.

    ``report`` hears every fire time handled (submitted, skipped, missed, failed);
    ``notice`` hears a line when this scheduler starts or stops leading, or cannot reach Redis.
    """

    def __init__(self, client: WorkflowClient, schedules: dict[str, ScheduleSettings], *,
                 report: Callable[[Fired], None], notice: Callable[[str], None],
                 lead_ttl: float = LEAD_TTL):
        self.client = client
        self.schedules = schedules
        self.store = ScheduleStore(client.redis, client.ns)
        self.token = new_token()
        self.report = report
        self.notice = notice
        self.lead_ttl = lead_ttl
        self.leading: bool | None = None
        """Whether it led at the last tick (None before the first)."""

    def tick(self) -> float:
        """Lead or stand by, fire what is due; seconds until the next tick."""
        leading = self.store.lead(self.token, self.lead_ttl)
        if leading != self.leading:
            self.leading = leading
            self.notice(f"scheduler {self.token} leads" if leading
                        else f"scheduler {self.token} stands by: {self.store.leader()} leads")
        if not leading:
            return MAX_WAIT
        names = sorted(self.schedules)
        records = self.store.read(names)
        wait = MAX_WAIT
        for name in names:
            upcoming = self._due(name, self.schedules[name], records[name])
            wait = min(wait, max(0.0, upcoming - self.store.now()))
        return wait

    def _due(self, name: str, schedule: ScheduleSettings, record: ScheduleRecord) -> float:
        """Fire ``name`` if its time has come; its next fire time."""
        now = self.store.now()
        cron = ops.cron_of(schedule)
        if record.next is None or record.cron != cron:
            upcoming = schedule.next_after(now)
            self.store.plan_next(name, next_fire=upcoming, cron=cron)
            return upcoming
        if now < record.next:
            return record.next
        at = schedule.last_until(now)
        if self.store.claim(name, at):
            late = now - at
            if late > schedule.grace:
                fired = Fired(name, at, FireOutcome.MISSED,
                              reason=f"no scheduler ran at the fire time ({late:.0f} s late, "
                                     f"grace {schedule.grace:g} s)")
            else:
                fired = ops.fire(self.client, name, schedule, at, record)
            self.store.record(name, fire=at, outcome=fired.outcome, at=self.store.now(),
                              workflow=fired.workflow, reason=fired.reason)
            self.report(fired)
        upcoming = schedule.next_after(at)
        self.store.plan_next(name, next_fire=upcoming, cron=cron)
        return upcoming

    def reload(self) -> None:
        """Read the schedules again from the settings; on a bad config keep the ones it has
        (a typo in the file must not stop every schedule)."""
        try:
            schedules = ops.reread()
        except CephflowError as exc:
            self.notice(f"schedules not reloaded, still firing "
                        f"{', '.join(sorted(self.schedules)) or 'none'}: {exc}")
            return
        self.schedules = schedules
        self.notice(f"schedules reloaded: {', '.join(sorted(schedules)) or 'none'}")

    def run(self, stop: threading.Event, *, reload: threading.Event | None = None) -> None:
        """Tick until ``stop`` is set, then hand the lead over (the next scheduler leads at
        once); read the schedules again whenever ``reload`` is set. Redis away is waited
        out (``redis_patience`` per call), then retried."""
        try:
            while not stop.is_set():
                if reload is not None and reload.is_set():
                    reload.clear()
                    self.reload()
                try:
                    wait = self.tick()
                except CephflowError as exc:
                    self.notice(f"scheduler: {exc}; trying again")
                    wait = MAX_WAIT
                stop.wait(wait)
        finally:
            try:
                self.store.resign(self.token)
            except CephflowError as exc:
                log.warning("scheduler: could not hand the lead over: %s", exc)
