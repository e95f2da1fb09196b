"""The web front end under load: the API's list and get with a 10,000-node workflow running,
100 Server-Sent Events clients following it while a worker runs it, and the workflow page's
first render in Chromium.

    .venv/bin/python bench/api_bench.py [--nodes 10000] [--clients 50] [--requests 20]
                                        [--followers 100]

Starts one private redis-server (unix socket, no persistence), one ``cephflow serve`` (uvicorn,
one process, as a user starts it) with tokens of its own, and later one Celery worker
(``-c 2``). The workflow is ``--nodes`` ``core.noop`` steps in stages of 100, each stage
after the whole previous one.

1. Submitted with no worker running (all its nodes pending or queued: a big running
   workflow), ``--clients`` threads each make ``--requests`` calls of ``GET /workflows`` and
   as many of ``GET /workflows/ID`` (the full 10,000-node snapshot): p50 and p99 of each.
2. Chromium (Debian's, through Playwright) opens ``/ui/workflows/ID``: the time from the
   navigation until the tree's rows are in the page (the target: under 1 s).
3. ``--followers`` clients open ``GET /workflows/ID/events``; the worker starts and runs
   the workflow to its end; each client reads until ``event: end``. Printed: events sent per
   second (each client's), the server's CPU over the run in cores (target: under one core at
   1,000 events/s), and whether every client got every event.

There is no plain-Celery counterpart to an HTTP API: the figures are absolute, measured on
the machine the header line describes.
"""

from __future__ import annotations

import argparse
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


def start_serve(url: str, workdir: Path) -> tuple[subprocess.Popen, str, dict[str, str]]:
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
                             "--port", str(port), "--loglevel", "warning"], env=env,
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
                    http.get(path).raise_for_status()
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


def follow(base: str, headers: dict[str, str], wf: str, counts: list[int], index: int,
           ended: list[float], ready: threading.Barrier) -> None:
    n = 0
    with httpx.Client(timeout=None) as http, http.stream(
            "GET", base + f"/api/v1/workflows/{wf}/events", headers=headers) as stream:
        ready.wait()
        for line in stream.iter_lines():
            if line.startswith("id: "):
                n += 1
            elif line == "event: end":
                ended[index] = time.monotonic()
                break
    counts[index] = n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--followers", type=int, default=100)
    args = parser.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} {platform.node()} "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {args.nodes:,} nodes")
    with tempfile.TemporaryDirectory(prefix="cephflow-apibench-") as tmp:
        workdir = Path(tmp)
        with private_redis(workdir, fsync=None) as url:
            serve, base, headers = start_serve(url, workdir)
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

                counts = [0] * args.followers
                ended = [0.0] * args.followers
                ready = threading.Barrier(args.followers + 1)
                followers = [threading.Thread(target=follow, daemon=True, args=(
                    base, headers, wf, counts, i, ended, ready)) for i in range(args.followers)]
                for t in followers:
                    t.start()
                ready.wait()
                server = psutil.Process(serve.pid)
                cpu0 = sum(server.cpu_times()[:2])
                t0 = time.monotonic()
                worker = Worker(url, workdir / "worker.log", namespace=NS, tasks="cephflow.tasks")
                worker.start()
                for t in followers:
                    t.join(timeout=1800)
                wall = max(ended) - t0
                cpu = sum(server.cpu_times()[:2]) - cpu0
                events = max(counts)
                print(f"  sse: {args.followers} followers, {events:,} events each in {wall:.1f} s "
                      f"({events / wall:,.0f} events/s per client, "
                      f"{events * args.followers / wall:,.0f} sent/s in all); server CPU "
                      f"{cpu:.1f} s = {cpu / wall:.2f} cores; every client got every event: "
                      f"{len(set(counts)) == 1 and all(ended)}")
            finally:
                if worker is not None:
                    worker.stop()
                serve.terminate()
                serve.wait(timeout=20)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
