"""Periodic runbooks through the real ``cephflow scheduler`` and ``cephflow schedules``.

Each test writes a config file with ``[schedules.<name>]`` and a runbook directory of its
own, runs the scheduler as an operator would (a process, stopped with SIGTERM) against a
real redis-server (and, where a run must end, the shared Celery worker), and checks what a
wrong scheduler would get wrong: a per-second schedule fires and its runs are audited as
``scheduler:<name>``; a fire while the previous run still holds its lock is a recorded
skip, and the schedule fires again once that run has ended; two schedulers at once submit
each fire time exactly once, and the second takes over when the first stops; a fire time
outside the window is skipped; bad schedule settings are refused with exit status 2.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import HistoryAction, WorkflowState
from cephflow.runbook.compiler import compile_runbook
from cephflow.settings import Settings
from cephflow.tasks import load_all
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import stop_process, wait_until
from tests.paths import CEPHFLOW, REPO

pytestmark = [pytest.mark.services, pytest.mark.slow]

GATE = """\
name: sched-gate
description: Holds its lock until its gate is approved.
params:
  zone: {type: str, default: a, help: Which zone is locked.}
locks: ["zone:{{ zone }}"]
steps:
  - id: hold
    task: core.log
    approval: {message: "go on?"}
    with: {message: "held"}
"""

QUICK = """\
name: sched-quick
description: One step, done at once.
steps:
  - id: say
    task: core.log
    with: {message: "tick"}
"""

SECRET = """\
name: sched-secret
description: Takes a password.
params:
  password: {type: str, secret: true, help: A secret.}
  who: {type: str, help: Not a secret.}
steps:
  - id: say
    task: core.log
    with: {message: "hello {{ who }}"}
"""

LINE = re.compile(r"^(?P<at>\S+) (?P<name>\S+) (?P<outcome>submitted|skipped|missed|failed): "
                  r"(?P<detail>.*)$")


class Scheduler:
    """One ``cephflow scheduler`` process, its stdout and stderr in files."""

    def __init__(self, env: dict[str, str], directory: Path, name: str):
        self.out = directory / f"{name}.out"
        self.err = directory / f"{name}.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen([CEPHFLOW, "scheduler"], env=env, cwd=REPO,
                                         stdout=out, stderr=err, start_new_session=True)

    def lines(self) -> list[re.Match[str]]:
        return [m for m in map(LINE.match, self.out.read_text().splitlines()) if m]

    def log(self) -> str:
        return self.err.read_text()

    def stop(self) -> int:
        stop_process(self.proc, group=True, grace=20)
        return self.proc.returncode


@pytest.fixture
def setup(redis_server, redis_url, tmp_path):
    """Write runbooks and a config; start schedulers; stop them all afterwards."""
    books = tmp_path / "runbooks"
    books.mkdir()
    (books / "sched-gate.yaml").write_text(GATE)
    (books / "sched-quick.yaml").write_text(QUICK)
    (books / "sched-secret.yaml").write_text(SECRET)
    config = tmp_path / "config.toml"
    env = dict(os.environ, CEPHFLOW_REDIS_URL=redis_url, CEPHFLOW_NAMESPACE=NAMESPACE,
               CEPHFLOW_CONFIG=str(config), COLUMNS="200", NO_COLOR="1")
    started: list[Scheduler] = []

    class Setup:
        client = WorkflowClient(Settings(redis_url=redis_url, namespace=NAMESPACE))
        runbooks = books

        def configure(self, schedules: str) -> None:
            config.write_text(f'runbook_dirs = ["{books}"]\n{schedules}')

        def scheduler(self, name: str = "s") -> Scheduler:
            started.append(Scheduler(env, tmp_path, name))
            return started[-1]

        def cephflow(self, *args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([CEPHFLOW, *args], env=env, cwd=REPO, capture_output=True,
                                  text=True, timeout=60)

        def runs(self, name: str) -> list:
            """The workflows submitted by schedule ``name``, oldest first."""
            listed = self.client.list_workflows(None)
            return sorted((s for s in listed if s.submitted_by == f"scheduler:{name}"),
                          key=lambda s: s.submitted_at)

        def record(self, name: str) -> dict:
            shown = json.loads(self.cephflow("schedules", "--json").stdout)
            return next(s for s in shown["schedules"] if s["name"] == name)

    yield Setup()
    for scheduler in started:
        scheduler.stop()
    Setup.client.close()


def test_a_per_second_schedule_fires_skips_while_its_run_holds_the_lock_then_fires_again(
        setup, celery_worker):
    setup.configure('[schedules.hold]\nrunbook = "sched-gate"\ncron = "* * * * * *"\n'
                    'params = {zone = "a"}\n')
    scheduler = setup.scheduler()
    first = wait_until(lambda: setup.runs("hold"), timeout=30, what="a first run")[0].id
    skipped = wait_until(lambda: [m for m in scheduler.lines() if m["outcome"] == "skipped"],
                         timeout=30, what="a skipped fire")
    assert skipped[0]["detail"] == f"the previous run {first} is still running"
    assert [r.id for r in setup.runs("hold")] == [first]  # skips submit nothing

    history = setup.client.history(first)
    assert [(e.action, e.user) for e in history] == [(HistoryAction.SUBMITTED, "scheduler:hold")]
    assert setup.client.audit(first)["user"] == "scheduler:hold"

    setup.client.approve(first, "hold", user="tester", early=True)
    assert setup.client.wait(first, timeout=30) is WorkflowState.SUCCEEDED
    second = wait_until(lambda: setup.runs("hold")[1:], timeout=30, what="a second run")[0]
    assert second.submitted_by == "scheduler:hold"

    record = setup.record("hold")
    assert record["runbook"] == "sched-gate" and record["next"] > record["last"]["fire"]
    assert scheduler.stop() == 0
    assert "scheduler stopped" in scheduler.log()
    lines = scheduler.lines()
    times = [m["at"] for m in lines]
    assert len(times) == len(set(times))  # one line per fire time
    submitted = [m["detail"] for m in lines if m["outcome"] == "submitted"]
    assert submitted == [r.id for r in setup.runs("hold")]


def test_a_lock_held_by_another_workflow_skips_the_fire_with_its_holder(setup):
    load_all()
    holder = setup.client.submit(compile_runbook(setup.runbooks / "sched-gate.yaml", {"zone": "b"}), user="tester")
    setup.configure('[schedules.other]\nrunbook = "sched-gate"\ncron = "* * * * * *"\n'
                    'params = {zone = "b"}\noverlap = "allow"\n')
    scheduler = setup.scheduler()
    skipped = wait_until(lambda: [m for m in scheduler.lines() if m["outcome"] == "skipped"][1:],
                         timeout=30, what="two skipped fires")
    assert skipped[0]["detail"] == f"lock 'zone:b' is held by workflow {holder}"
    assert setup.runs("other") == []
    record = setup.record("other")["last"]
    assert record["outcome"] == "skipped" and record["reason"].startswith("lock 'zone:b'")
    refused = [e for e in setup.client.history(user="scheduler:other")
               if e.action is HistoryAction.REFUSED]
    assert refused and all(e.runbook == "sched-gate" for e in refused)
    setup.client.cancel(holder, user="tester")


def test_two_schedulers_submit_each_fire_time_once_and_the_second_takes_over(setup):
    setup.configure('[schedules.quick]\nrunbook = "sched-quick"\ncron = "* * * * * *"\n'
                    'overlap = "allow"\n')
    one, two = setup.scheduler("one"), setup.scheduler("two")
    wait_until(lambda: len(one.lines()) + len(two.lines()) >= 4, timeout=30,
               what="four fires")
    leader, standby = (one, two) if one.lines() else (two, one)
    assert "leads" in leader.log() and "stands by" in standby.log()
    assert standby.lines() == []
    assert leader.stop() == 0
    wait_until(lambda: len(standby.lines()) >= 2, timeout=30, what="the second scheduler firing")
    assert standby.stop() == 0

    lines = one.lines() + two.lines()
    times = [m["at"] for m in lines]
    assert len(times) == len(set(times)), "a fire time was handled twice"
    assert all(m["outcome"] == "submitted" for m in lines), [m.group(0) for m in lines]
    assert sorted(m["detail"] for m in lines) == sorted(r.id for r in setup.runs("quick"))


def test_when_the_leader_dies_the_other_scheduler_fires_once_its_lead_expires(setup):
    setup.configure('[schedules.quick]\nrunbook = "sched-quick"\ncron = "* * * * * *"\n'
                    'overlap = "allow"\n')
    one = setup.scheduler("one")
    wait_until(lambda: one.lines(), timeout=30, what="the first scheduler firing")
    two = setup.scheduler("two")
    wait_until(lambda: "stands by" in two.log(), timeout=30, what="the second standing by")
    os.killpg(one.proc.pid, signal.SIGKILL)  # no hand-over: the lead must expire
    one.proc.wait(timeout=10)
    wait_until(lambda: len(two.lines()) >= 2, timeout=40, what="the second scheduler firing")
    assert two.stop() == 0 and "leads" in two.log()
    lines = one.lines() + two.lines()
    times = [m["at"] for m in lines]
    assert len(times) == len(set(times)), "a fire time was handled twice"
    assert all(m["outcome"] == "submitted" for m in lines)
    # the killed one may have submitted a run it had no time to print
    assert len(setup.runs("quick")) - len(lines) in (0, 1)


def test_a_fire_time_outside_the_window_is_skipped(setup):
    now = datetime.now(UTC)
    start, end = now + timedelta(hours=2), now + timedelta(hours=3)
    window = f"{start:%H:%M}-{end:%H:%M}"
    setup.configure('[schedules.late]\nrunbook = "sched-quick"\ncron = "* * * * * *"\n'
                    f'window = "{window}"\ntimezone = "UTC"\n')
    scheduler = setup.scheduler()
    skipped = wait_until(lambda: scheduler.lines(), timeout=30, what="a fire")
    assert skipped[0]["outcome"] == "skipped"
    assert skipped[0]["detail"] == f"outside the window {window} (UTC)"
    assert setup.runs("late") == []
    listed = setup.cephflow("schedules")
    assert listed.returncode == 0, listed.stderr
    assert "late" in listed.stdout and f"outside the window {window}" in listed.stdout


def test_schedules_lists_them_before_any_scheduler_ran_and_hides_secret_params(setup):
    setup.configure('[schedules.pw]\nrunbook = "sched-secret"\ncron = "0 3 * * *"\n'
                    'timezone = "Europe/Berlin"\nparams = {password = "hunter2", who = "olga"}\n')
    result = setup.cephflow("schedules", "--json")
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    shown = json.loads(result.stdout)
    assert shown["leader"] is None
    [pw] = shown["schedules"]
    assert pw["params"] == {"password": "**********", "who": "olga"}
    assert pw["last"] is None and pw["next"] > shown["now"]
    assert datetime.fromtimestamp(pw["next"], ZoneInfo("Europe/Berlin")).strftime("%H:%M:%S") \
        == "03:00:00"
    table = setup.cephflow("schedules")
    assert table.returncode == 0 and "hunter2" not in table.stdout
    assert "no scheduler is running" in table.stdout and "never fired" in table.stdout


@pytest.mark.parametrize(("schedule", "message"), [
    ('cron = "61 * * * *"', "setting schedules.bad.cron: not a cron expression: '61 * * * *'"),
    ('cron = "* * * * *"\ntimezone = "Mars/Olympus"',
     "setting schedules.bad.timezone: unknown time zone 'Mars/Olympus'"),
    ('cron = "* * * * *"\nwindow = "22:00-4:00"',
     "setting schedules.bad.window: not a window: '22:00-4:00'"),
    ('cron = "* * * * *"\novrlap = "skip"', "unknown setting 'schedules.bad.ovrlap'"),
])
@pytest.mark.parametrize("command", ["schedules", "scheduler"])
def test_bad_schedule_settings_are_refused_with_the_setting_and_its_line(setup, schedule,
                                                                         message, command):
    setup.configure(f'[schedules.bad]\nrunbook = "sched-quick"\n{schedule}\n')
    result = setup.cephflow(command)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "config.toml:" in result.stderr  # the line of the setting
    assert "Traceback" not in result.stdout + result.stderr


def test_sighup_reads_the_schedules_again_and_a_bad_config_keeps_the_ones_it_had(setup):
    setup.configure('[schedules.quick]\nrunbook = "sched-quick"\ncron = "* * * * * *"\n'
                    'overlap = "allow"\n')
    scheduler = setup.scheduler()
    wait_until(lambda: scheduler.lines(), timeout=30, what="a first fire of 'quick'")

    setup.configure('[schedules.other]\nrunbook = "sched-quick"\ncron = "* * * * * *"\n'
                    'overlap = "allow"\n')
    os.kill(scheduler.proc.pid, signal.SIGHUP)
    wait_until(lambda: "schedules reloaded: other" in scheduler.log(), timeout=30,
               what="the reload")

    def fires(name: str) -> int:
        return sum(1 for m in scheduler.lines() if m["name"] == name)

    wait_until(lambda: fires("other") >= 2, timeout=30, what="two fires of 'other'")
    quick_then = fires("quick")
    wait_until(lambda: fires("other") >= 4, timeout=30, what="two more fires of 'other'")
    assert fires("quick") == quick_then  # a per-second schedule no longer configured is gone

    setup.configure('[schedules.other]\nrunbook = "sched-quick"\ncron = "61 * * * * *"\n')
    os.kill(scheduler.proc.pid, signal.SIGHUP)
    wait_until(lambda: "schedules not reloaded" in scheduler.log(), timeout=30,
               what="the refused reload")
    assert "still firing other" in scheduler.log()
    assert "schedules.other.cron" in scheduler.log()
    other_then = fires("other")
    wait_until(lambda: fires("other") >= other_then + 2, timeout=30,
               what="'other' firing on after the bad config")
    assert scheduler.stop() == 0
    assert all(m["outcome"] == "submitted" for m in scheduler.lines())
