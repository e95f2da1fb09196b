"""Every exit status of ``cephflow.errors.ExitStatus``, and every way a user can get one wrong,
through the real ``cephflow`` entry point: the exact status, the first line of stderr, and
never a ``Traceback``.

Each run gets a throwaway HOME, state dir and config; cases that need the engine use the
real redis-server and Celery worker fixtures; "cannot reach Redis" uses a closed port.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cephflow.errors import EXIT_MEANINGS, ExitStatus
from tests.fixtures.redis_server import NAMESPACE
from tests.paths import CEPHFLOW, REPO

FAILS = "name: fails\nsteps:\n  - id: boom\n    task: core.fail\n"
HELD = ("name: held\nlocks: [exit-status-test]\nsteps:\n  - id: hold\n    task: core.approval\n"
        "    with: {message: hold the lock}\n")
CASE_TIMEOUT = 90


@dataclass
class Case:
    """One command line, its environment and what it must end with."""

    args: list[str]
    status: ExitStatus
    stderr: str
    """The first line of stderr ("" for none); a trailing ``...`` matches a prefix."""
    config: str | None = None
    """The config file's text (None: CEPHFLOW_CONFIG names an empty file)."""
    env: dict[str, str] = field(default_factory=dict)
    redis: bool = False
    """Run against the test Redis and worker (the workflow cases, unknown ids)."""


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BAD_INPUT = {
    "usage error": Case(["plan", "demo", "--itmes", "3"], ExitStatus.BAD_INPUT,
                        "error: No such option: --itmes (Possible options: --items) "
                        "(cephflow plan demo)"),
    "unknown command": Case(["nosuch"], ExitStatus.BAD_INPUT,
                            "error: No such command 'nosuch'. (cephflow)"),
    "unknown runbook": Case(["plan", "dmeo"], ExitStatus.BAD_INPUT,
                            "error: no runbook named 'dmeo'"),
    "config typo in a section": Case(["runbooks"], ExitStatus.BAD_INPUT,
                                     "error: unknown setting 'ceph.ssh_hots' ({config}:2)",
                                     config='[ceph]\nssh_hots = "admin"\n'),
    "config typo at the top": Case(["runbooks"], ExitStatus.BAD_INPUT,
                                   "error: unknown setting 'retention_dayz' ({config}:1)",
                                   config="retention_dayz = 3\n"),
    "config TOML syntax error": Case(["runbooks"], ExitStatus.BAD_INPUT,
                                     "error: config file is not valid TOML: Expected ']' at the "
                                     "end of a table declaration ({config}:1)",
                                     config="[ceph\nssh_host = 1\n"),
    "setting of the wrong type": Case(["runbooks"], ExitStatus.BAD_INPUT,
                                      "error: setting lease_seconds: Input should be a valid "
                                      "number, unable to parse string as a number ({config}:1)",
                                      config='lease_seconds = "soon"\n'),
    "environment variable typo": Case(["runbooks"], ExitStatus.BAD_INPUT,
                                      "error: unknown environment variable "
                                      "CEPHFLOW_RETENTION_DAYZ (environment)",
                                      env={"CEPHFLOW_RETENTION_DAYZ": "3"}),
    "explicit config file missing": Case(["runbooks"], ExitStatus.BAD_INPUT,
                                         "error: config file does not exist "
                                         "(CEPHFLOW_CONFIG={home}/absent.toml)",
                                         env={"CEPHFLOW_CONFIG": "{home}/absent.toml"}),
    "Redis URL with a foreign scheme": Case(["status"], ExitStatus.BAD_INPUT,
                                            "error: setting redis_url: must start with "
                                            "redis://, rediss://, unix://, redis+sentinel:// "
                                            "(CEPHFLOW_REDIS_URL)",
                                            env={"CEPHFLOW_REDIS_URL": "foo://"}),
    "HOME that cannot be written": Case(["status"], ExitStatus.BAD_INPUT,
                                        "error: Not a directory (/dev/null/home/...",
                                        env={"HOME": "/dev/null/home",
                                             "CEPHFLOW_STATE_DIR": "",
                                             "XDG_STATE_HOME": ""}),
    "no Ceph cluster configured": Case(["plan", "replace-disk", "--host", "X"],
                                       ExitStatus.BAD_INPUT,
                                       "error: no Ceph cluster is configured: no ceph.conf in "
                                       "{home}/nowhere.conf",
                                       env={"CEPH_CONF": "{home}/nowhere.conf"}),
    "unknown workflow id": Case(["status", "0123456789ab"], ExitStatus.BAD_INPUT,
                                "error: ...0123456789ab...", redis=True),
}

UNREACHABLE = {
    "Redis on a closed port": Case(["status"], ExitStatus.UNREACHABLE,
                                   "warning: Redis unreachable (...",
                                   env={"CEPHFLOW_REDIS_URL": "redis://127.0.0.1:{port}",
                                        "CEPHFLOW_REDIS_PATIENCE": "1"}),
    "Ceph over SSH on a closed port": Case(["plan", "drain-host", "--host", "h1"],
                                           ExitStatus.UNREACHABLE,
                                           "error: runbooks/drain-host.yaml:...: discover 'osds': "
                                           "lookup 'ceph.host_osds' failed: cannot reach "
                                           "127.0.0.1:{port} over SSH...",
                                           env={"CEPHFLOW_CEPH__SSH_HOST": "127.0.0.1",
                                                "CEPHFLOW_CEPH__SSH_PORT": "{port}",
                                                "CEPHFLOW_CEPH__CONNECT_TIMEOUT": "1"}),
}


def run(case: Case, home: Path, redis_url: str | None = None, *, port: str = "",
        ) -> subprocess.CompletedProcess[str]:
    config = home / "config.toml"
    config.write_text(case.config or "")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CEPHFLOW_")}
    env.update(HOME=str(home), CEPHFLOW_STATE_DIR=str(home / "state"),
               CEPHFLOW_CONFIG=str(config), XDG_CONFIG_HOME=str(home / ".config"),
               COLUMNS="200", NO_COLOR="1")
    if redis_url is not None:
        env.update(CEPHFLOW_REDIS_URL=redis_url, CEPHFLOW_NAMESPACE=NAMESPACE)
    for name, value in case.env.items():
        env[name] = value.format(home=home, port=port)
    env = {k: v for k, v in env.items() if v != ""}  # "" in a case: unset it
    return subprocess.run([CEPHFLOW, *case.args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=CASE_TIMEOUT)


def assert_ends(result: subprocess.CompletedProcess[str], case: Case, home: Path,
                port: str = "") -> None:
    shown = result.stdout + result.stderr
    assert "Traceback" not in shown
    assert result.returncode == case.status, shown
    first = result.stderr.splitlines()[0] if result.stderr else ""
    expected = case.stderr.format(config=home / "config.toml", home=home, port=port)
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    assert re.fullmatch(pattern, first), f"{first!r} does not match {expected!r}"


@pytest.mark.parametrize("name", list(BAD_INPUT) + list(UNREACHABLE))
def test_a_mistake_ends_with_its_status_and_one_error_line(name, tmp_path, request):
    case = {**BAD_INPUT, **UNREACHABLE}[name]
    redis_url = request.getfixturevalue("redis_url") if case.redis else None
    port = str(closed_port())
    result = run(case, tmp_path, redis_url, port=port)
    assert_ends(result, case, tmp_path, port)
    lines = result.stderr.splitlines()
    error = [line for line in lines if line.startswith("error: ")]
    assert len(error) == 1, result.stderr  # one error, said once
    if case.env.get("CEPHFLOW_REDIS_PATIENCE"):
        assert len(lines) == 3 and lines[1].startswith("error: cannot reach Redis (tried for 1s)")


def test_debug_adds_the_traceback(tmp_path):
    case = BAD_INPUT["unknown runbook"]
    result = run(Case(["--debug", *case.args], case.status, case.stderr), tmp_path)
    assert result.returncode == ExitStatus.BAD_INPUT
    assert result.stderr.startswith("error: no runbook named 'dmeo'\nhint: did you mean 'demo'?")
    assert "Traceback (most recent call last)" in result.stderr
    assert "RunbookNotFound" in result.stderr


def workflow_id(stdout: str) -> str:
    match = re.search(r"workflow ([0-9a-f]{12}) submitted", stdout)
    assert match, stdout
    return match.group(1)


def test_workflow_outcomes_lock_and_detach(tmp_path, redis_url, celery_worker):
    """0 succeeded, 1 failed, 3 lock held, 4 cancelled, 130 detached: the statuses a workflow
    gives, each through the CLI that an operator types."""
    (tmp_path / "fails.yaml").write_text(FAILS)
    (tmp_path / "held.yaml").write_text(HELD)
    home = tmp_path / "home"
    home.mkdir()

    def cli(*args: str, status: ExitStatus, stderr: str = "") -> subprocess.CompletedProcess[str]:
        result = run(Case(list(args), status, stderr), home, redis_url)
        assert_ends(result, Case(list(args), status, stderr), home)
        return result

    done = cli("run", "demo", "--items", "1", "--pause", "0s", status=ExitStatus.SUCCEEDED)
    assert "succeeded" in done.stdout.splitlines()[-1]
    failed = cli("run", str(tmp_path / "fails.yaml"), status=ExitStatus.FAILED)
    assert "failed" in failed.stdout.splitlines()[-1]

    held = workflow_id(cli("run", str(tmp_path / "held.yaml"), "--detach",
                           status=ExitStatus.SUCCEEDED).stdout)
    cli("run", str(tmp_path / "held.yaml"), status=ExitStatus.LOCK_HELD,
        stderr=f"error: lock 'exit-status-test' is held by workflow {held}")
    cli("cancel", held, status=ExitStatus.SUCCEEDED)
    cli("status", held, "--quiet", status=ExitStatus.CANCELLED)

    detached = detach_with_ctrl_c(home, redis_url, tmp_path / "held.yaml")
    assert detached.returncode == ExitStatus.DETACHED
    assert "Traceback" not in detached.stdout + detached.stderr
    assert "keeps running" in detached.stdout
    cli("cancel", workflow_id(detached.stdout), status=ExitStatus.SUCCEEDED)


def detach_with_ctrl_c(home: Path, redis_url: str, runbook: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CEPHFLOW_")}
    env.update(HOME=str(home), CEPHFLOW_STATE_DIR=str(home / "state"),
               CEPHFLOW_CONFIG=str(home / "config.toml"), CEPHFLOW_REDIS_URL=redis_url,
               CEPHFLOW_NAMESPACE=NAMESPACE, COLUMNS="200", NO_COLOR="1")
    proc = subprocess.Popen([CEPHFLOW, "run", str(runbook)], env=env, cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # "workflow ID submitted"
    first += proc.stdout.readline()  # the attach line: it is following now
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=CASE_TIMEOUT)
    return subprocess.CompletedProcess(proc.args, proc.returncode, first + rest, err)


def test_a_closed_stdout_ends_quietly_with_status_0(tmp_path):
    """``cephflow ... | head -1``: the reader stops; the command exits 0 without a word."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CEPHFLOW_")}
    (tmp_path / "config.toml").write_text("")
    env.update(HOME=str(tmp_path), CEPHFLOW_STATE_DIR=str(tmp_path / "state"),
               CEPHFLOW_CONFIG=str(tmp_path / "config.toml"), COLUMNS="200", NO_COLOR="1")
    proc = subprocess.Popen([CEPHFLOW, "plan", "demo", "--items", "3000"], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=CASE_TIMEOUT) == ExitStatus.SUCCEEDED
    assert err == ""


def test_the_readme_documents_every_exit_status():
    readme = (REPO / "README.md").read_text()
    for status, meaning in EXIT_MEANINGS.items():
        assert f"| {int(status)} | {meaning} |" in readme
    assert set(EXIT_MEANINGS) == set(ExitStatus)
