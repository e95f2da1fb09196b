"""What the engine benchmarks share: a private Redis, the Celery app pointed at it, and worker
process groups started, measured and stopped by their PID.

Each benchmark registers its own tasks in its own module; a worker imports that module
(``CEPHFLOW_EXTRA_TASK_MODULES``) with bench/ on its path. One harness, so the figures of the
engine, chaos and soak benchmarks come from workers started the same way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def private_redis(workdir: Path, *, fsync: str | None = "everysec") -> Iterator[str]:
    """A redis-server on a unix socket in ``workdir`` while the block runs: its URL.

    AOF with ``fsync`` (``everysec``, as a production Redis would run; None: no AOF, for runs
    that measure memory rather than durability). Stopped by its PID, even when the block fails.
    """
    sock = workdir / "redis.sock"
    aof = ["--appendonly", "yes", "--appendfsync", fsync] if fsync else ["--appendonly", "no"]
    proc = subprocess.Popen(
        [shutil.which("redis-server"), "--port", "0", "--unixsocket", str(sock), "--dir",
         str(workdir), *aof, "--save", ""], stdout=subprocess.DEVNULL)
    try:
        import redis

        url = f"unix://{sock}"
        deadline = time.monotonic() + 10
        while True:
            try:
                if sock.exists() and redis.Redis.from_url(url).ping():
                    break
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start in {workdir}")
            time.sleep(0.05)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()


_client = None


def bench_redis():
    """The Redis the worker's app is pointed at (``cephflow_redis_url``), one client per
    process: what the benchmarks' own tasks count their runs in."""
    global _client
    if _client is None:
        import redis

        from cephflow.engine.app import app

        _client = redis.Redis.from_url(app.conf.cephflow_redis_url, decode_responses=True)
    return _client


def use_redis(url: str, namespace: str) -> None:
    """Point this process's Celery app (broker, backend, engine) at ``url``."""
    from cephflow.engine import broker
    from cephflow.engine.app import app
    from cephflow.engine.connection import broker_url

    app.conf.update(broker_url=broker.broker_url(url), result_backend=broker_url(url),
                    cephflow_redis_url=url, task_default_queue=namespace)


class Worker:
    """One ``celery worker`` process group on the bench's Redis, serving ``namespace`` (or the
    comma-separated ``queues``, which should include it: control work goes there)."""

    def __init__(self, url: str, log: Path, *, namespace: str, tasks: str,
                 concurrency: int = 2, env: Mapping[str, str] | None = None,
                 queues: str | None = None):
        self.url, self.log, self.concurrency = url, log, concurrency
        self.queues = queues
        self.env = dict(os.environ, CEPHFLOW_REDIS_URL=url, CEPHFLOW_NAMESPACE=namespace,
                        CEPHFLOW_EXTRA_TASK_MODULES=tasks,
                        PYTHONPATH=os.pathsep.join([str(ROOT / "bench"), str(ROOT)]),
                        **(env or {}))
        self.proc: subprocess.Popen | None = None

    def launch(self) -> None:
        """Start the worker without waiting for its pool (the chaos benchmark's restarts)."""
        argv = [sys.executable, "-m", "celery", "-A", "cephflow.engine.app", "worker", "--pool",
                "prefork", "-c", str(self.concurrency), "--loglevel", "WARNING",
                "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if self.queues:
            argv += ["-Q", self.queues]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(argv, env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def ready(self) -> bool:
        """Whether its pool processes are up."""
        try:
            return len(psutil.Process(self.proc.pid).children()) >= self.concurrency
        except (psutil.Error, AttributeError):
            return False

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start (see {self.log})")
            time.sleep(0.05)

    def start(self, *, settle: float = 0.0) -> None:
        """Launch and wait for the pool; ``settle`` s more for its consumer to connect."""
        self.launch()
        self.wait_ready()
        time.sleep(settle)

    def processes(self) -> list[psutil.Process]:
        try:
            main = psutil.Process(self.proc.pid)
            return [main, *main.children(recursive=True)]
        except (psutil.Error, AttributeError):
            return []

    def rss(self) -> int:
        """Bytes: the main process and its pool children, summed."""
        total = 0
        for p in self.processes():
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def kill(self) -> None:
        """SIGKILL the whole process group (a crash, not a shutdown)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc:
            self.proc.wait()

    def stop(self, timeout: float = 20.0) -> None:
        """A warm shutdown (SIGTERM), SIGKILL after ``timeout``."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
