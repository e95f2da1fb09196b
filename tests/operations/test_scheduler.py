"""The scheduler's loop in one process, on a real redis-server: the parts a CLI run cannot
reach on purpose.

Two schedulers that both believe they lead (a lead that expired under a stalled leader)
still submit each fire time once; a fire time no scheduler ran at is recorded as missed
past its grace, not run; a schedule whose cron expression changed starts from the new one;
a runbook that cannot be planned is a failed fire that does not stop the loop; a scheduler
that stops hands the lead over at once.
"""

from __future__ import annotations

import threading

import pytest

from cephflow.engine.client import WorkflowClient
from cephflow.engine.schedules import FireOutcome, ScheduleRecord, ScheduleStore
from cephflow.operations import schedules as ops
from cephflow.operations.scheduler import Scheduler
from cephflow.operations.schedules import Fired
from cephflow.settings import get_settings
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import wait_until

pytestmark = pytest.mark.services

QUICK = """\
name: sched-quick
description: One step.
steps:
  - id: say
    task: core.log
    with: {message: "tick"}
"""


@pytest.fixture
def configure(redis_url, tmp_path, monkeypatch):
    """Point the settings at the test's Redis and a config with ``schedules`` (TOML text)."""
    books = tmp_path / "runbooks"
    books.mkdir()
    (books / "sched-quick.yaml").write_text(QUICK)
    config = tmp_path / "config.toml"
    monkeypatch.setenv("CEPHFLOW_REDIS_URL", redis_url)
    monkeypatch.setenv("CEPHFLOW_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("CEPHFLOW_CONFIG", str(config))
    clients: list[WorkflowClient] = []

    def apply(schedules: str) -> WorkflowClient:
        config.write_text(f'runbook_dirs = ["{books}"]\n{schedules}')
        get_settings.cache_clear()
        clients.append(WorkflowClient(get_settings()))
        return clients[-1]

    yield apply
    for client in clients:
        client.close()
    get_settings.cache_clear()


def scheduler(client: WorkflowClient, heard: list[Fired], *, always_leads: bool = False,
              ) -> Scheduler:
    made = Scheduler(client, ops.configured(), report=heard.append, notice=lambda line: None)
    if always_leads:
        made.store.lead = lambda token, ttl: True  # a leader whose lead expired unnoticed
    return made


def test_two_leaders_at_once_still_submit_each_fire_time_once(configure):
    client = configure('[schedules.quick]\nrunbook = "sched-quick"\ncron = "* * * * * *"\n'
                       'overlap = "allow"\n')
    heard: list[Fired] = []
    one, two = (scheduler(client, heard, always_leads=True) for _ in range(2))
    stop = threading.Event()
    threads = [threading.Thread(target=s.run, args=(stop,)) for s in (one, two)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(heard) >= 4, timeout=30, what="four fires")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    times = [f.fire for f in heard]
    assert len(times) == len(set(times)), "a fire time was submitted twice"
    submitted = sorted(f.workflow for f in heard if f.outcome is FireOutcome.SUBMITTED)
    runs = [s.id for s in client.list_workflows(None) if s.submitted_by == "scheduler:quick"]
    assert submitted == sorted(runs) and len(runs) >= 4


def test_claims_only_move_forward(configure):
    client = configure("")
    store = ScheduleStore(client.redis, client.ns)
    assert store.claim("s", 100.0)
    assert not store.claim("s", 100.0)  # the same fire time: once
    assert not store.claim("s", 99.0)  # an older one after a newer one: never
    assert store.claim("s", 101.0)


def test_a_fire_time_later_than_its_grace_is_recorded_as_missed_not_run(configure):
    client = configure('[schedules.hourly]\nrunbook = "sched-quick"\ncron = "0 * * * *"\n'
                       'grace = 30\n')
    store = ScheduleStore(client.redis, client.ns)
    schedule = ops.configured()["hourly"]
    now = store.now()
    past = schedule.last_until(now - 3600)  # the scheduler was away for that fire time
    store.plan_next("hourly", next_fire=past, cron=ops.cron_of(schedule))
    heard: list[Fired] = []
    scheduler(client, heard).tick()
    [fired] = heard
    assert fired.outcome is FireOutcome.MISSED and fired.fire == schedule.last_until(now)
    assert "no scheduler ran at the fire time" in fired.reason and "grace 30 s" in fired.reason
    record = store.read(["hourly"])["hourly"]
    assert record.outcome is FireOutcome.MISSED and record.next == schedule.next_after(now)
    assert client.list_workflows(None) == []


def test_a_changed_cron_expression_starts_from_its_own_next_fire_time(configure):
    client = configure('[schedules.daily]\nrunbook = "sched-quick"\ncron = "0 3 * * *"\n')
    store = ScheduleStore(client.redis, client.ns)
    store.plan_next("daily", next_fire=store.now() - 5, cron="* * * * * * UTC")  # was per second
    heard: list[Fired] = []
    scheduler(client, heard).tick()
    assert heard == []  # a fire time of the old expression is not run
    record = store.read(["daily"])["daily"]
    schedule = ops.configured()["daily"]
    assert record.cron == "0 3 * * * UTC" and record.next == schedule.next_after(record.next - 1)
    assert record.next > store.now()


def test_a_runbook_that_cannot_be_planned_is_a_failed_fire_and_the_loop_goes_on(configure):
    client = configure('[schedules.broken]\nrunbook = "no-such-runbook"\ncron = "* * * * * *"\n')
    heard: list[Fired] = []
    made = scheduler(client, heard)
    wait_until(lambda: made.tick() is not None and len(heard) >= 2, timeout=30,
               what="two fires")
    assert all(f.outcome is FireOutcome.FAILED for f in heard)
    assert "no-such-runbook" in heard[0].reason
    assert ScheduleStore(client.redis, client.ns).read(["broken"])["broken"].outcome \
        is FireOutcome.FAILED


def test_a_scheduler_that_stops_hands_the_lead_over_at_once(configure):
    client = configure("")
    first, second = scheduler(client, []), scheduler(client, [])
    first.tick()
    second.tick()
    assert (first.leading, second.leading) == (True, False)
    stop = threading.Event()
    stop.set()
    first.run(stop)  # stops at once, and resigns
    second.tick()
    assert second.leading
    assert ScheduleStore(client.redis, client.ns).leader() == second.token


def test_a_schedule_runs_on_its_cluster_and_one_without_among_several_fails_saying_so(
        configure):
    client = configure('[clusters.par1]\n[clusters.gra2]\n'
                       '[schedules.on-gra2]\nrunbook = "sched-quick"\ncron = "0 * * * *"\n'
                       'cluster = "gra2"\n'
                       '[schedules.anywhere]\nrunbook = "sched-quick"\ncron = "0 * * * *"\n')
    store = ScheduleStore(client.redis, client.ns)
    configured = ops.configured()
    made = ops.fire(client, "on-gra2", configured["on-gra2"], store.now(), ScheduleRecord())
    assert made.outcome is FireOutcome.SUBMITTED, made.reason
    assert client.snapshot(made.workflow).cluster == "gra2"
    client.cancel(made.workflow)
    refused = ops.fire(client, "anywhere", configured["anywhere"], store.now(), ScheduleRecord())
    assert refused.outcome is FireOutcome.FAILED
    assert refused.reason == ("several clusters are configured (par1, gra2) and none is the "
                              "default: name one with --cluster")
