"""The embedded default: a private redis-server and a local worker under the state dir.

With no ``redis_url`` configured, ``cephflow run`` needs no set-up: it starts ``redis-server``
on a unix socket (AOF on, so a restart keeps the workflows) and a detached local worker.
Both stay in the background so a workflow goes on after the command returns;
``cephflow services`` shows them, ``cephflow services start`` starts them and
``cephflow services stop`` stops them (by PID).

A service whose PID file outlives its process died (killed, out of memory, a reboot):
``revive`` starts it again, and every command on the embedded default calls it, while one
stopped by ``services stop`` (its PID file removed) stays stopped until a command needs it.

Only the owner reaches the embedded Redis: the state dir and its ``redis/`` are 0700 (made
so, or tightened, before anything is started in them), the socket is 0700 (``unixsocketperm``)
and there is no TCP port. A password would add nothing: it would be kept in the same
owner-only directory, from the same user that may read the AOF itself.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from cephflow.engine import reconciler
from cephflow.engine.connection import redis_client, socket_url
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

    @property
    def lock(self) -> Path:
        return self.root / "services.lock"


@contextmanager
def _starting(settings: Settings) -> Iterator[None]:
    """One process at a time looks for dead services and starts them: two commands at once
    would otherwise both find the worker dead and start two."""
    p = paths(settings)
    private_dir(p.root)
    with open(p.lock, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def private_dir(path: Path) -> None:
    """Make ``path`` a directory only its owner may enter: 0700, tightened if it exists with
    more (it holds the AOF: every workflow's params, and logs). Missing parents are made with
    the umask's mode: what guards the contents is ``path`` itself."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)


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
    was: int | None = None
    """The PID of the process this one replaced because it had died (``revive``)."""


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
    private_dir(p.root)
    private_dir(p.redis_dir)
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


def start_worker(settings: Settings, *, concurrency: int = 2, url: str | None = None,
                 env: dict[str, str] | None = None) -> int:
    """Start a detached local worker unless one runs; returns its PID (``env``: its whole
    environment, default this process's with the Redis URL)."""
    p = paths(settings)
    pid = _read_pid(p.worker_pid)
    if _alive(pid):
        return pid  # type: ignore[return-value]
    private_dir(p.root)
    env = env or dict(os.environ, CEPHFLOW_REDIS_URL=url or redis_url(settings))
    with open(p.worker_log, "ab") as log:
        proc = subprocess.Popen(worker_argv(concurrency), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    p.worker_pid.write_text(str(proc.pid))
    return proc.pid


def ensure_services(settings: Settings) -> list[ServiceStatus]:
    """With no Redis configured: the private redis-server and a local worker, started if needed.

    Returns the services it started (none when both ran already), so a caller can say so;
    those that had died (``revive``) carry the dead one's PID in ``was``.
    """
    if settings.redis_url:
        return []
    with _starting(settings):
        revived = _revive(settings)
        before = {s.name for s in status(settings) if s.running}
        start_redis(settings)
        start_worker(settings)
    return revived + [s for s in status(settings) if s.name not in before]


def _died(path: Path) -> int | None:
    """The PID a PID file names when that process is gone (it did not stop by ``stop``)."""
    pid = _read_pid(path)
    return pid if pid and not _alive(pid) else None


def revive(settings: Settings) -> list[ServiceStatus]:
    """Start again the embedded services that died; returns them (``was``: the dead PID).

    A dead worker's nodes would each wait out their lease (a minute) before the reconciler
    sent them again: the embedded Redis is this host's alone, so before the new worker
    starts, every lease no live process of this host holds is expired
    (``reconciler.relet_orphans``) and the new worker's first reconcile pass sends them
    at once. Never on a configured Redis, whose other workers this host cannot see.
    """
    if settings.redis_url:
        return []
    with _starting(settings):
        return _revive(settings)


def _revive(settings: Settings) -> list[ServiceStatus]:
    p = paths(settings)
    revived = []
    dead_redis = _died(p.redis_pid)
    if dead_redis:
        pid = start_redis(settings)
        revived.append(ServiceStatus("redis", pid, True, f"log {p.redis_log}", was=dead_redis))
    dead_worker = _died(p.worker_pid)
    if dead_worker:
        start_redis(settings)
        client = redis_client(redis_url(settings))
        try:
            reconciler.relet_orphans(client, settings.namespace, _alive_here)
        finally:
            client.close()
        pid = start_worker(settings)
        revived.append(ServiceStatus("worker", pid, True, f"log {p.worker_log}",
                                     was=dead_worker))
    return revived


def _alive_here(host: str, pid: int) -> bool:
    """Whether the process ``pid`` of ``host`` lives (another host's: assumed so)."""
    return host != socket.gethostname() or _alive(pid)


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
