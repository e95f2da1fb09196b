"""The embedded default: `cephflow run` with no Redis configured starts its own services."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from cephflow.engine import embedded, keys
from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import WorkflowState
from cephflow.settings import Settings
from tests.engine.support import dag, node, wait_node
from tests.fixtures.services import require_binary, wait_until
from tests.paths import CEPHFLOW

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture
def state_dir(tmp_path_factory):
    require_binary("redis-server")
    state = tmp_path_factory.mktemp("emb")
    settings = Settings(state_dir=state, redis_url=None)
    yield state
    embedded.stop(settings)  # by the PIDs in the state dir, whatever the test did


def cli(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CEPHFLOW_")}
    env.update(CEPHFLOW_STATE_DIR=str(state), CEPHFLOW_CONFIG=os.devnull)
    return subprocess.run([CEPHFLOW, *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_run_starts_private_redis_and_worker_that_outlive_it(state_dir):
    result = cli(state_dir, "run", "demo", "--items", "2", "--pause", "0s")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "succeeded" in result.stdout
    settings = Settings(state_dir=state_dir, redis_url=None)
    redis_status, worker_status = embedded.status(settings)
    assert redis_status.running and worker_status.running
    assert (state_dir / "redis" / "redis.sock").exists()
    assert (state_dir / "redis" / "appendonlydir").is_dir()  # AOF on

    [said] = [line for line in result.stderr.splitlines() if "in the background" in line]
    assert said.startswith(f"started in the background: redis-server (pid {redis_status.pid}, ")
    assert f"worker (pid {worker_status.pid}, log {state_dir / 'worker.log'})" in said
    assert str(state_dir / "redis" / "redis.log") in said
    assert said.endswith("stop with: cephflow services stop")
    assert "in the background" not in result.stdout  # stdout stays the run's own output

    shown = cli(state_dir, "services")
    assert str(worker_status.pid) in shown.stdout and str(redis_status.pid) in shown.stdout

    again = cli(state_dir, "run", "demo", "--items", "1", "--pause", "0s", "--detach")
    assert again.returncode == 0 and "cephflow status" in again.stdout
    assert "in the background" not in again.stderr  # both ran already: nothing to say
    assert embedded.status(settings)[1].pid == worker_status.pid  # reused, not a second one

    stopped = cli(state_dir, "services", "stop")
    assert "worker" in stopped.stdout and "redis" in stopped.stdout
    assert not any(s.running for s in embedded.status(settings))


def test_stopping_the_services_under_a_running_workflow_names_it_and_stops_anyway(state_dir):
    started = cli(state_dir, "run", "demo", "--items", "1", "--pause", "1h", "--quiet",
                  "--detach")
    assert started.returncode == 0, started.stderr
    wf = started.stdout.strip()
    stopped = cli(state_dir, "services", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert f"warning: workflow {wf} (demo) has not ended" in stopped.stderr
    assert "pauses until a worker runs again" in stopped.stderr
    assert "worker" in stopped.stdout and "redis" in stopped.stdout
    settings = Settings(state_dir=state_dir, redis_url=None)
    assert not any(s.running for s in embedded.status(settings))
    quiet = cli(state_dir, "services", "stop")  # nothing runs: nothing paused, no warning
    assert quiet.stderr == "" and "nothing was running" in quiet.stdout


@pytest.mark.parametrize("command", [("services",), ("status", "--json"),
                                     ("status", "{wf}", "--quiet")])
def test_a_killed_worker_is_started_again_by_any_command_and_its_step_sent_at_once(
        state_dir, command):
    settings = Settings(state_dir=state_dir, redis_url=None)
    assert settings.lease_seconds >= 45  # what a step of the dead worker used to wait out
    started = cli(state_dir, "run", "demo", "--items", "1", "--pause", "6s", "--quiet",
                  "--detach")
    assert started.returncode == 0, started.stderr
    wf = started.stdout.strip()
    client = WorkflowClient(settings)
    try:
        wait_node(client, wf, "wait", "running", timeout=60)
        dead = embedded.status(settings)[1].pid
        os.kill(dead, signal.SIGKILL)
        killed_at = time.time()
        wait_until(lambda: not embedded.status(settings)[1].running, timeout=10,
                   what="the worker to die")

        said = cli(state_dir, *(word.format(wf=wf) for word in command))
        assert said.returncode == 0, said.stderr
        worker = embedded.status(settings)[1]
        assert worker.running and worker.pid != dead
        assert said.stderr.splitlines() == [
            f"cephflow: the local worker had stopped (pid {dead}); started it again "
            f"(pid {worker.pid}, log {state_dir / 'worker.log'})"]

        wait_node(client, wf, "report", "succeeded", timeout=60)
        shown = client.snapshot(wf)
        assert shown.state is WorkflowState.SUCCEEDED
        # the waiting step was sent again at once, not after its lease (a minute)
        assert shown.nodes["wait"].ended_at - killed_at < 15
    finally:
        client.close()
    again = cli(state_dir, *(word.format(wf=wf) for word in command))  # nothing to say now
    assert again.stderr == ""


def test_services_start_starts_redis_and_the_worker_and_says_so(state_dir):
    settings = Settings(state_dir=state_dir, redis_url=None)
    started = cli(state_dir, "services", "start")
    assert started.returncode == 0, started.stderr
    redis_status, worker_status = embedded.status(settings)
    assert redis_status.running and worker_status.running
    assert started.stdout.splitlines()[0] == "started: redis-server, worker"
    assert str(worker_status.pid) in started.stdout and str(redis_status.pid) in started.stdout

    again = cli(state_dir, "services", "start")
    assert again.stdout.splitlines()[0] == "started: nothing (both were running)"
    assert embedded.status(settings)[1].pid == worker_status.pid


def test_a_worker_stopped_by_services_stop_stays_stopped_when_only_looked_at(state_dir):
    settings = Settings(state_dir=state_dir, redis_url=None)
    assert cli(state_dir, "services", "start").returncode == 0
    assert cli(state_dir, "services", "stop").returncode == 0
    shown = cli(state_dir, "services")
    assert shown.stderr == "" and not embedded.status(settings)[1].running


def test_a_configured_redis_is_never_relet_nor_given_a_worker(tmp_path, redis_url):
    """The leases of a shared Redis belong to workers this host cannot see: a dead PID file
    in the state dir (a worker of an earlier embedded default) changes nothing there."""
    settings = Settings(state_dir=tmp_path, redis_url=redis_url, namespace="cf-no-relet")
    client = WorkflowClient(settings)
    try:
        client.redis.delete(keys.leases("cf-no-relet"))
        wf = client.submit(dag(node("a")), user="tester")
        leased = dict(client.redis.zrange(keys.leases("cf-no-relet"), 0, -1, withscores=True))
        assert list(leased) == [keys.lease_member(wf, "a")]
        dead = dead_pid()
        (tmp_path / "worker.pid").write_text(str(dead))
        assert embedded.revive(settings) == [] and embedded.ensure_services(settings) == []
        assert dict(client.redis.zrange(keys.leases("cf-no-relet"), 0, -1,
                                        withscores=True)) == leased
        assert (tmp_path / "worker.pid").read_text() == str(dead)  # nothing started
    finally:
        for key in client.redis.scan_iter(match="cf-no-relet*"):
            client.redis.delete(key)
        client.close()


def dead_pid() -> int:
    """The PID of a process that has ended (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid
