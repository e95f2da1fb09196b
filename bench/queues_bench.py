"""Queues benchmark: two workflows on two queues served by four workers, against the same two
workflows on one queue served by two workers, with plain Celery's flat groups laid out the same
way measured in the same run.

    .venv/bin/python bench/queues_bench.py [--steps 10000] [--concurrency 2] [--rounds 1]

Each workflow has ``--steps`` no-op steps in stages of 100 (the engine benchmark's shape). The
layouts:

- ``1 queue, 2 workers``: both workflows' steps on the namespace queue, two workers serving it;
- ``2 queues, 4 workers``: the first workflow's steps routed to queue ``bench.a``, the second's
  to ``bench.b`` (``[celery] task_routes``, the route a cluster's queue takes through the same
  sender), two workers serving each queue plus the namespace queue every worker serves
  (control work, the reconciler).

Plain Celery does the same work as two flat groups of ``--steps`` tasks, both on one queue with
two workers, then one group per queue with two workers each. Figures: wall time from the first
submit to the last step, steps per second, the ratio to plain Celery of the same layout, and
whether every step ran exactly once. On a machine with fewer cores than worker processes more
workers cannot be faster: the run says what the second queue costs, not what it gains.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import redis
from celery import group
from harness import Worker, private_redis, use_redis

from cephflow.engine import keys
from cephflow.engine.app import app
from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.engine.state import WorkflowState

NS = os.environ.get("CEPHFLOW_NAMESPACE", "cephflow")
WIDTH = 100
QUEUES = ("bench.a", "bench.b")
ROUTES = {"bench.q_noop_a": QUEUES[0], "bench.q_noop_b": QUEUES[1]}


@app.task(name="bench.q_plain", ignore_result=True)
def plain(tag: str, i: int) -> None:
    from harness import bench_redis

    bench_redis().hincrby(f"bench:runs:{tag}", str(i), 1)


def _record(ctx: StepContext) -> None:
    ctx.backend.client.hincrby(f"bench:runs:{ctx.workflow_id}", ctx.node_id, 1)  # type: ignore[attr-defined]


@task("bench.q_noop_a")
def noop_a(ctx: StepContext) -> None:
    """A no-op of the first workflow (routed to ``bench.a`` in the two-queue layout)."""
    _record(ctx)


@task("bench.q_noop_b")
def noop_b(ctx: StepContext) -> None:
    """A no-op of the second workflow (routed to ``bench.b`` in the two-queue layout)."""
    _record(ctx)


def workers(url: str, workdir: Path, layout: str, concurrency: int) -> list[Worker]:
    """The workers of a layout, started and ready."""
    if layout == "one":
        specs = [(NS, {}), (NS, {})]
    else:
        routes = {"CEPHFLOW_CELERY__TASK_ROUTES": json.dumps(ROUTES)}
        specs = [(f"{NS},{QUEUES[0]}", routes), (f"{NS},{QUEUES[0]}", routes),
                 (f"{NS},{QUEUES[1]}", routes), (f"{NS},{QUEUES[1]}", routes)]
    started = []
    for i, (queues, env) in enumerate(specs):
        w = Worker(url, workdir / f"worker-{layout}-{i}.log", namespace=NS, tasks="queues_bench",
                   concurrency=concurrency, env=env, queues=queues)
        w.launch()
        started.append(w)
    for w in started:
        w.wait_ready()
    time.sleep(1.0)  # the consumers connect after the pool is up (not a synchronisation)
    return started


def wait_all(r: redis.Redis, keys_n: list[tuple[str, int]], cap: float, t0: float) -> float | None:
    while True:
        if all(r.hlen(k) >= n for k, n in keys_n):
            return time.monotonic() - t0
        if time.monotonic() - t0 > cap:
            return None
        time.sleep(0.05)


def once(r: redis.Redis, key: str, n: int) -> bool:
    values = r.hvals(key)
    return len(values) == n and all(v == "1" for v in values)


def run_plain(url: str, workdir: Path, layout: str, steps: int, concurrency: int,
              cap: float) -> dict:
    r = redis.Redis.from_url(url, decode_responses=True)
    r.flushall()
    started = workers(url, workdir, layout, concurrency)
    tags = [f"plain-{layout}-a", f"plain-{layout}-b"]
    t0 = time.monotonic()
    for tag, queue in zip(tags, QUEUES, strict=True):
        options = {} if layout == "one" else {"queue": queue}
        group(plain.si(tag, i) for i in range(steps)).apply_async(**options)
    wall = wait_all(r, [(f"bench:runs:{t}", steps) for t in tags], cap, t0)
    ok = all(once(r, f"bench:runs:{t}", steps) for t in tags)
    for w in started:
        w.kill()
    return {"kind": "plain", "layout": layout, "wall_s": wall, "exactly_once": ok}


def run_cephflow(url: str, workdir: Path, layout: str, steps: int, concurrency: int,
                 cap: float) -> dict:
    from cephflow.engine.client import WorkflowClient
    from cephflow.runbook.dag import Dag, Node
    from cephflow.settings import CelerySettings, Settings

    r = redis.Redis.from_url(url, decode_responses=True)
    r.flushall()
    started = workers(url, workdir, layout, concurrency)
    celery = CelerySettings(task_routes=ROUTES if layout == "two" else {})
    client = WorkflowClient(Settings(redis_url=url, namespace=NS, celery=celery))
    dags = []
    for letter in "ab":
        nodes, prev = [], []
        for s in range(0, steps, WIDTH):
            names = [f"s{s // WIDTH}[{i}]" for i in range(s, min(s + WIDTH, steps))]
            nodes += [Node(id=x, step=f"s{s // WIDTH}", task=f"bench.q_noop_{letter}", after=prev)
                      for x in names]
            prev = names
        dags.append(Dag(runbook=f"bench-{letter}", source="bench", nodes=nodes))
    t0 = time.monotonic()
    wfs = [client.submit(dag, user="bench") for dag in dags]
    wall = wait_all(r, [(f"bench:runs:{wf}", steps) for wf in wfs], cap, t0)
    states = []
    for wf in wfs:
        meta = keys.WorkflowKeys(NS, wf).meta
        deadline = time.monotonic() + 30
        while r.hget(meta, "state") != WorkflowState.SUCCEEDED and time.monotonic() < deadline:
            time.sleep(0.05)
        states.append(r.hget(meta, "state"))
    if wall is not None:
        wall = time.monotonic() - t0
    ok = all(once(r, f"bench:runs:{wf}", steps) for wf in wfs)
    for w in started:
        w.kill()
    return {"kind": "cephflow", "layout": layout, "wall_s": wall, "exactly_once": ok,
            "states": states}


LAYOUTS = {"one": "1 queue, 2 workers", "two": "2 queues, 4 workers"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10_000, help="steps per workflow")
    parser.add_argument("--concurrency", type=int, default=2, help="processes per worker")
    parser.add_argument("--rounds", type=int, default=1, help="times to run every row")
    parser.add_argument("--cap", type=float, default=900.0, help="seconds per row at most")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="queues-bench-"))
    rows = []
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} {platform.node()} "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}", flush=True)
    try:
        with private_redis(workdir) as url:
            use_redis(url, NS)
            for _ in range(args.rounds):
                for layout in LAYOUTS:
                    for run in (run_plain, run_cephflow):
                        row = run(url, workdir, layout, args.steps, args.concurrency, args.cap)
                        row["load"] = os.getloadavg()[0]
                        rows.append(row)
                        print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(rows, 2 * args.steps)
    sys.stdout.flush()
    os._exit(0)


def print_table(rows: list[dict], total: int) -> None:
    print("\n| layout | plain Celery | cephflow | × plain | steps/s (cephflow) | exactly once |"
          "\n|---|---|---|---|---|---|")
    for i in range(0, len(rows) - 1, 2):
        plain_row, cf = rows[i], rows[i + 1]
        if plain_row["wall_s"] is None or cf["wall_s"] is None:
            print(f"| {LAYOUTS[cf['layout']]} | cap reached | | | | |")
            continue
        ratio = cf["wall_s"] / plain_row["wall_s"]
        ok = "yes" if plain_row["exactly_once"] and cf["exactly_once"] else "no"
        print(f"| {LAYOUTS[cf['layout']]} | {plain_row['wall_s']:.1f} s | {cf['wall_s']:.1f} s | "
              f"{ratio:.2f} | {total / cf['wall_s']:.0f} | {ok} |")


if __name__ == "__main__":
    main()
