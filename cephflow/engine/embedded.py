"""The embedded default: a private redis-server and a local worker under the state dir.

With no ``redis_url`` configured, ``cephflow run`` needs no set-up: it starts ``redis-server``
on a unix socket (AOF on, so a restart keeps the workflows) and a detached local worker.
Both stay in the background so a workflow goes on after the command returns;
``cephflow services`` shows them and ``cephflow services stop`` stops them (by PID).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from cephflow.engine.connection import socket_url
from cephflow.errors import ConfigError, EngineError
from cephflow.settings import Settings


@dataclass(frozen=True)
class Paths:
    """Where the embedded services keep their files."""

    root: Path

    @property
    def redis_dir(self) -> Path:
        return self.root / "redis"

    @property
    def socket(self) -> Path:
        return self.redis_dir / "redis.sock"

    @property
    def redis_pid(self) -> Path:
        return self.redis_dir / "redis.pid"

    @property
    def redis_log(self) -> Path:
        return self.redis_dir / "redis.log"

    @property
    def worker_pid(self) -> Path:
        return self.root / "worker.pid"

    @property
    def worker_log(self) -> Path:
        return self.root / "worker.log"


def paths(settings: Settings) -> Paths:
    return Paths(Path(settings.state_dir))


def redis_url(settings: Settings) -> str:
    return socket_url(str(paths(settings).socket))


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int | None
    running: bool
    detail: str


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def _ping(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def status(settings: Settings) -> list[ServiceStatus]:
    p = paths(settings)
    rpid = _read_pid(p.redis_pid)
    wpid = _read_pid(p.worker_pid)
    return [
        ServiceStatus("redis", rpid, _alive(rpid) and _ping(redis_url(settings)),
                      f"socket {p.socket}, log {p.redis_log}"),
        ServiceStatus("worker", wpid, _alive(wpid), f"log {p.worker_log}"),
    ]


def start_redis(settings: Settings, *, timeout: float = 10.0) -> int:
    """Start the private redis-server (AOF on) unless it answers already; returns its PID."""
    p = paths(settings)
    url = redis_url(settings)
    pid = _read_pid(p.redis_pid)
    if _alive(pid) and _ping(url):
        return pid  # type: ignore[return-value]
    binary = shutil.which("redis-server")
    if binary is None:
        raise ConfigError("redis-server is not installed (scripts/setup.sh installs it), "
                          "or set CEPHFLOW_REDIS_URL")
    p.redis_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if len(str(p.socket)) > 100:
        raise ConfigError(f"state dir path too long for a unix socket: {p.socket}")
    argv = [binary, "--port", "0", "--unixsocket", str(p.socket), "--unixsocketperm", "700",
            "--dir", str(p.redis_dir), "--appendonly", "yes", "--appendfsync", "everysec",
            "--save", "", "--daemonize", "yes", "--pidfile", str(p.redis_pid),
            "--logfile", str(p.redis_log)]
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _ping(url):
            pid = _read_pid(p.redis_pid)
            if pid:
                return pid
        time.sleep(0.05)
    raise EngineError(f"the embedded redis-server did not answer on {p.socket} "
                      f"(see {p.redis_log})")


def worker_argv(concurrency: int, loglevel: str = "INFO") -> list[str]:
    """The Celery worker command line for the project's app."""
    return [sys.executable, "-m", "celery", "-A", "cephflow.engine.app", "worker",
            "--pool", "prefork", "--concurrency", str(concurrency), "--loglevel", loglevel,
            "--without-gossip", "--without-mingle", "--without-heartbeat"]


def start_worker(settings: Settings, *, concurrency: int = 2, url: str | None = None) -> int:
    """Start a detached local worker unless one runs; returns its PID."""
    p = paths(settings)
    pid = _read_pid(p.worker_pid)
    if _alive(pid):
        return pid  # type: ignore[return-value]
    p.root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CEPHFLOW_REDIS_URL=url or redis_url(settings))
    with open(p.worker_log, "ab") as log:
        proc = subprocess.Popen(worker_argv(concurrency), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    p.worker_pid.write_text(str(proc.pid))
    return proc.pid


def ensure_services(settings: Settings) -> list[ServiceStatus]:
    """With no Redis configured: the private redis-server and a local worker, started if needed.

    Returns the services it started (none when both ran already), so a caller can say so.
    """
    if settings.redis_url:
        return []
    before = {s.name for s in status(settings) if s.running}
    start_redis(settings)
    start_worker(settings)
    return [s for s in status(settings) if s.name not in before]


def stop_pid(pid: int | None, *, timeout: float = 15.0) -> bool:
    """Stop the process ``pid`` if it lives: SIGTERM, then SIGKILL after ``timeout`` seconds.

    Returns whether it was alive. The one way cephflow stops a process it started in the
    background (the embedded redis-server and worker; the lab's restart of that worker).
    """
    if not _alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)  # type: ignore[arg-type]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)  # type: ignore[arg-type]
    return True


def stop_worker(settings: Settings, *, timeout: float = 15.0) -> bool:
    """Stop the local worker if it runs and forget its PID; returns whether it ran.

    The next ``ensure_services`` starts a fresh one, which reads the settings anew (the lab
    commands rely on this after the lab came or went).
    """
    p = paths(settings)
    stopped = stop_pid(_read_pid(p.worker_pid), timeout=timeout)
    p.worker_pid.unlink(missing_ok=True)
    return stopped


def stop(settings: Settings) -> list[str]:
    """Stop the local worker, then the private redis-server; returns what was stopped."""
    stopped = []
    if stop_worker(settings):
        stopped.append("worker")
    if stop_pid(_read_pid(paths(settings).redis_pid)):
        stopped.append("redis")
    return stopped
