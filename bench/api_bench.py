"""The web front end under load: the API's list and get with a 10,000-node workflow running,
100 Server-Sent Events clients following it while a worker runs it, and the workflow page's
first render in Chromium.

    .venv/bin/python bench/api_bench.py [--nodes 10000] [--clients 50] [--requests 20]
                                        [--followers 100] [--rate 1000] [--seconds 20]
                                        [--workers 1] [--skip-run]

Starts one private redis-server (unix socket, no persistence), one ``cephflow serve`` (uvicorn,
``--workers`` processes, as a user starts it) with tokens of its own, and later one Celery
worker (``-c 2``). The workflow is ``--nodes`` ``core.noop`` steps in stages of 100, each
stage after the whole previous one.

1. Submitted with no worker running (all its nodes pending or queued: a big running
   workflow), ``--clients`` threads each make ``--requests`` calls of ``GET /workflows`` and
   as many of ``GET /workflows/ID`` (the full 10,000-node snapshot): p50 and p99 of each,
   each body read whole as sent (httpx asks for gzip; the bench does not decompress it: on
   this machine that would be the clients' CPU, not the server's answer).
2. Chromium (Debian's, through Playwright) opens ``/ui/workflows/ID``: the time from the
   navigation until the tree's rows are in the page (the target: under 1 s).
3. ``--followers`` clients open ``GET /workflows/ID/events`` (after its last event so far);
   the worker starts and runs
   the workflow to its end; each client reads until ``event: end``. Printed: events sent per
   second (each client's), the server's CPU over the run in cores (target: under one core at
   1,000 events/s), and whether every client got every event.

There is no plain-Celery counterpart to an HTTP API: the figures are absolute, measured on
the machine the header line describes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, Worker, private_redis  # noqa: E402

NS = "apibench"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def start_serve(url: str, workdir: Path, workers: int = 1,
                ) -> tuple[subprocess.Popen, str, dict[str, str]]:
    from cephflow.operations.api_tokens import new_token
    from cephflow.settings import ApiRole

    made = new_token("bench", "bench", [ApiRole.VIEWER, ApiRole.OPERATOR])
    config = workdir / "config.toml"
    config.write_text("[api]\nauth_failures_per_minute = 1000000\n" + made.toml())
    with socket_free() as port:
        pass
    env = dict(os.environ, CEPHFLOW_REDIS_URL=url, CEPHFLOW_NAMESPACE=NS,
               CEPHFLOW_CONFIG=str(config), HOME=str(workdir))
    log = open(workdir / "serve.log", "wb")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("cephflow")), "serve",
                             "--port", str(port), "--loglevel", "warning",
                             "--workers", str(workers)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/api/v1/openapi.json", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"cephflow serve did not start (see {workdir / 'serve.log'})")
        time.sleep(0.1)
    return proc, base, {"Authorization": f"Bearer {made.token}"}


class socket_free:
    """A free loopback port (the socket is closed when the block ends)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def submit(url: str, nodes: int) -> str:
    from cephflow.engine.client import WorkflowClient
    from cephflow.runbook.dag import Dag, Node
    from cephflow.settings import Settings
    from cephflow.task_names import NOOP_TASK

    made, prev = [], []
    for stage in range(0, nodes, 100):
        names = [f"s{stage // 100}[{i}]" for i in range(stage, min(nodes, stage + 100))]
        made += [Node(id=n, step=f"s{stage // 100}", task=NOOP_TASK, after=prev) for n in names]
        prev = names
    client = WorkflowClient(Settings(redis_url=url, namespace=NS))
    try:
        return client.submit(Dag(runbook="api-bench", source="bench", nodes=made), user="bench")
    finally:
        client.close()


def latencies(base: str, headers: dict[str, str], wf: str, clients: int,
              requests: int) -> dict[str, list[float]]:
    got: dict[str, list[float]] = {"list": [], "get": []}
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def one() -> None:
        mine: dict[str, list[float]] = {"list": [], "get": []}
        with httpx.Client(base_url=base + "/api/v1", headers=headers, timeout=120) as http:
            barrier.wait()
            for _ in range(requests):
                for kind, path in (("list", "/workflows?limit=20"), ("get", f"/workflows/{wf}")):
                    t0 = time.perf_counter()
                    with http.stream("GET", path) as answer:
                        answer.raise_for_status()
                        for _ in answer.iter_raw():  # as sent: gzip is not undone here
                            pass
                    mine[kind].append(time.perf_counter() - t0)
        with lock:
            for kind in got:
                got[kind] += mine[kind]

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got


def first_render(base: str, token_header: str, wf: str) -> tuple[float, int]:
    from playwright.sync_api import sync_playwright

    token = token_header.removeprefix("Bearer ")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
            page.add_init_script(f"sessionStorage.setItem('cephflow-token', {token!r})")
            page.goto(base + f"/ui/workflows/{wf}", wait_until="commit")
            page.wait_for_selector("#tree li", timeout=60_000)
            elapsed = page.evaluate("performance.now()") / 1000
            rows = page.locator("#tree li").count()
        finally:
            browser.close()
    return elapsed, rows


EVENT = b"\nevent: "
"""Every event's second line (its first is its id): counted in the raw bytes, which costs
the bench far less than parsing 100 clients' lines."""


def follow(base: str, headers: dict[str, str], wf: str, counts: list[int], index: int,
           ended: list[float], ready: threading.Barrier, *, last: str | None = None,
           until: bytes = b"\nevent: end") -> None:
    """Count the events of ``wf`` (after ``last``) until ``until`` arrives."""
    n = 0
    tail = b""
    if last:
        headers = {**headers, "Last-Event-ID": last}
    with httpx.Client(timeout=None) as http, http.stream(
            "GET", base + f"/api/v1/workflows/{wf}/events", headers=headers) as stream:
        ready.wait()
        for chunk in stream.iter_raw():
            n += (tail[-(len(EVENT) - 1):] + chunk).count(EVENT)  # shorter than a marker:
            if until in tail + chunk:                              # none is counted twice
                ended[index] = time.monotonic()
                break
            tail = (tail + chunk)[-(len(until) - 1):]
    counts[index] = n - (until == b"\nevent: end")


def server_cpu(server: psutil.Process) -> float:
    """CPU seconds (user and system) of the server and its worker processes."""
    total = 0.0
    for proc in [server, *server.children(recursive=True)]:
        try:
            total += sum(proc.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return total


PRODUCERS = 2
"""Threads writing the events: one Lua call is a round trip, and one thread alone falls
short of 1,000 a second on a busy machine."""


def produce(url: str, wf: str, rate: int, seconds: float) -> int:
    """Write ``rate`` progress events a second on ``wf``'s first step for ``seconds`` (from
    PRODUCERS threads, each its share), then one that says ``bench-done``; returns how many
    were written."""
    from cephflow.engine.client import WorkflowClient
    from cephflow.settings import Settings

    client = WorkflowClient(Settings(redis_url=url, namespace=NS))
    node = next(iter(client.snapshot(wf).nodes))
    written = [0] * PRODUCERS
    t0 = time.monotonic()

    def one(index: int) -> None:
        share = rate / PRODUCERS
        while (now := time.monotonic() - t0) < seconds:
            due = int(now * share) + 1
            while written[index] < due:
                client.transitions.progress(wf, node, f"bench {index}.{written[index]}", {})
                written[index] += 1
            time.sleep(0.005)

    try:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(PRODUCERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        client.transitions.progress(wf, node, "bench-done", {})
        return sum(written) + 1
    finally:
        client.close()


def start_followers(url: str, base: str, headers: dict[str, str], wf: str, n: int, *,
                    until: bytes = b"\nevent: end"
                    ) -> tuple[list[threading.Thread], list[int], list[float]]:
    """``n`` SSE followers of ``wf`` from its last event on, each connected: their threads,
    events counted and end times, filled in as they go (``until``: a marker that ends them)."""
    from cephflow.engine.client import WorkflowClient
    from cephflow.settings import Settings

    reader = WorkflowClient(Settings(redis_url=url, namespace=NS))
    last = reader.version(wf)
    reader.close()
    counts = [0] * n
    ended = [0.0] * n
    ready = threading.Barrier(n + 1)
    followers = [threading.Thread(target=follow, daemon=True, args=(
        base, headers, wf, counts, i, ended, ready), kwargs={"last": last, "until": until})
        for i in range(n)]
    for t in followers:
        t.start()
    ready.wait()
    return followers, counts, ended


def rated(url: str, base: str, headers: dict[str, str], wf: str, server: psutil.Process,
          args: argparse.Namespace) -> None:
    """Phase 4: ``--followers`` clients while ``--rate`` events a second are written."""
    followers, counts, ended = start_followers(url, base, headers, wf, args.followers,
                                               until=b"bench-done")
    time.sleep(1)  # let every stream reach the server's feed before the clock starts
    cpu0 = server_cpu(server)
    t0 = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # its own GIL
        written = pool.apply(produce, (url, wf, args.rate, args.seconds))
    produced = time.monotonic() - t0
    for t in followers:
        t.join(timeout=300)
    wall = max(ended) - t0
    cpu = server_cpu(server) - cpu0
    print(f" rate: {args.followers} followers of {written:,} events written in {produced:.1f} s "
          f"({written / produced:,.0f} events/s); each got {min(counts):,}-{max(counts):,} "
          f"events, the last by {wall:.1f} s ({written * args.followers / wall:,.0f} sent/s in "
          f"all); server CPU {cpu:.1f} s = {cpu / wall:.2f} cores; every client got every "
          f"event: {min(counts) == written and all(ended)}")


def run(url: str, base: str, headers: dict[str, str], wf: str, server: psutil.Process,
        args: argparse.Namespace, workdir: Path) -> Worker:
    """Phase 3: ``--followers`` clients (from the workflow's last event on) while a worker
    runs the workflow to its end."""
    followers, counts, ended = start_followers(url, base, headers, wf, args.followers)
    cpu0 = server_cpu(server)
    t0 = time.monotonic()
    worker = Worker(url, workdir / "worker.log", namespace=NS, tasks="cephflow.tasks")
    worker.start()
    for t in followers:
        t.join(timeout=1800)
    wall = max(ended) - t0
    cpu = server_cpu(server) - cpu0
    events = max(counts)
    print(f"  sse: {args.followers} followers, {events:,} events each in {wall:.1f} s "
          f"({events / wall:,.0f} events/s per client, "
          f"{events * args.followers / wall:,.0f} sent/s in all); server CPU "
          f"{cpu:.1f} s = {cpu / wall:.2f} cores; every client got every event: "
          f"{len(set(counts)) == 1 and all(ended)}")
    return worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--followers", type=int, default=100)
    parser.add_argument("--rate", type=int, default=1000,
                        help="events a second written for phase 4 (0: no phase 4)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=1, help="cephflow serve --workers")
    parser.add_argument("--skip-run", action="store_true",
                        help="no phase 3 (the worker running the workflow)")
    args = parser.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} {platform.node()} "
          f"{os.cpu_count()} cores, load {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{args.nodes:,} nodes; serve --workers {args.workers}")
    with tempfile.TemporaryDirectory(prefix="cephflow-apibench-") as tmp:
        workdir = Path(tmp)
        with private_redis(workdir, fsync=None) as url:
            serve, base, headers = start_serve(url, workdir, args.workers)
            worker = None
            try:
                wf = submit(url, args.nodes)
                got = latencies(base, headers, wf, args.clients, args.requests)
                for kind in ("list", "get"):
                    values = got[kind]
                    print(f"{kind:>5}: {len(values)} calls from {args.clients} clients: "
                          f"p50 {percentile(values, 50) * 1000:.0f} ms, "
                          f"p99 {percentile(values, 99) * 1000:.0f} ms")
                render, rows = first_render(base, headers["Authorization"], wf)
                print(f"page: first render of the {args.nodes:,}-node workflow in "
                      f"{render:.2f} s ({rows:,} rows)")

                server = psutil.Process(serve.pid)
                if args.rate:
                    rated(url, base, headers, wf, server, args)
                if not args.skip_run:
                    worker = run(url, base, headers, wf, server, args, workdir)
            finally:
                if worker is not None:
                    worker.stop()
                serve.terminate()
                serve.wait(timeout=20)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
