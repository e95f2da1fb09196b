"""Chaos benchmark: a 2,000-step workflow whose workers are killed with SIGKILL every few
seconds, against the same workflow with no kills and a plain Celery group, in one run.

    .venv/bin/python bench/chaos_bench.py [--steps 2000] [--every 3] [--workers 2] [--lease 5]
                                          [--width 1000] [--slots 8]

One private redis-server (unix socket, AOF ``everysec``, as ``bench/engine_bench.py``) and,
for each row, ``--workers`` fresh Celery workers (``celery -A cephflow.engine.app worker
--pool prefork -c 2``; this file is their extra task module). Rows:

- **Celery group (reference)**: ``group(noop.si(i) for i in range(n)).apply_async()``, no
  ordering and no kills: Celery's own time for ``n`` tasks on these workers.
- **cephflow, no kills**: ``n`` steps in fan-outs of ``--width`` (1,000), each after the whole
  previous one, each running at most ``--slots`` (8) members at once, as a runbook's
  ``foreach`` with a concurrency limit does (``--width 100 --slots 0``: the engine
  benchmark's shape, where a step a kill cuts off holds up its whole stage for a lease).
- **cephflow, killed every S s**: the same workflow while, every ``--every`` seconds, the
  worker that has run longest is killed with SIGKILL (its process group: the main process
  with the messages it holds, and its pool) and a new one is started at once. A kill waits
  for a worker whose pool is up (killing one that is still starting would cost nothing).

Reported per row: wall time from submit to the end (cephflow: the workflow's state is
``succeeded``), the ratio to the group and, for the kills row, to the run without kills (the
slowdown); the kills survived (landed while the workflow ran); the steps the reconciler sent
again after their lease expired (``lease expired: sent again``); the steps whose effect ran
twice (each step does ``HINCRBY runs <node> 1``: a kill cut the first run off between its
effect and its completion); and whether every step succeeded exactly once in the engine's
record. ``--lease`` is the workers' lease (the default setting is 60 s: every step a kill
cuts off waits out a lease before it is sent again, so the slowdown grows with it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import redis
from celery import group
from harness import Worker, bench_redis, private_redis, use_redis

from cephflow.engine import keys
from cephflow.engine.app import app
from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.engine.state import EventType, WorkflowState

NS = os.environ.get("CEPHFLOW_NAMESPACE", "cephflow")
CONCURRENCY = 2
RESENT = "lease expired: sent again"



@app.task(name="chaos.noop", ignore_result=True)
def noop(tag: str, i: int) -> None:
    bench_redis().hincrby(f"bench:runs:{tag}", str(i), 1)


@task("chaos.step")
def step(ctx: StepContext) -> None:
    """A step with an effect: counts its runs."""
    ctx.backend.client.hincrby(f"bench:runs:{ctx.workflow_id}", ctx.node_id, 1)  # type: ignore[attr-defined]


def launch_worker(url: str, log: Path, lease: float) -> Worker:
    """A worker with the bench's lease, started without waiting (a restart after a kill)."""
    worker = Worker(url, log, namespace=NS, tasks="chaos_bench", concurrency=CONCURRENCY,
                    env={"CEPHFLOW_LEASE_SECONDS": str(lease)})
    worker.launch()
    return worker


def staged_dag(n: int, width: int, slots: int):
    """``n`` steps in fan-outs of ``width``, each after the whole previous one, each running
    at most ``slots`` members at once (0: no limit)."""
    from cephflow.runbook.dag import Dag, Group, Node

    nodes, prev, groups = [], [], {}
    for s, start in enumerate(range(0, n, width)):
        names = [f"s{s}[{i}]" for i in range(start, min(start + width, n))]
        nodes += [Node(id=x, step=f"s{s}", task="chaos.step", after=prev, group=f"s{s}")
                  for x in names]
        groups[f"s{s}"] = Group(id=f"s{s}", concurrency=slots or None)
        prev = names
    return Dag(runbook="chaos", source="bench", nodes=nodes, groups=groups)


def start_workers(url: str, workdir: Path, count: int, lease: float, serial: list[int]):
    workers = []
    for _ in range(count):
        serial[0] += 1
        workers.append(launch_worker(url, workdir / f"worker-{serial[0]}.log", lease))
    for w in workers:
        w.wait_ready()
    time.sleep(1.0)  # the pool is up; its consumer connects just after (as engine_bench)
    return workers


def run_group(url: str, n: int, workers: list[Worker]) -> dict:
    r = redis.Redis.from_url(url, decode_responses=True)
    key = "bench:runs:group"
    t0 = time.monotonic()
    group(noop.si("group", i) for i in range(n)).apply_async()
    while r.hlen(key) < n:
        time.sleep(0.02)
    wall = time.monotonic() - t0
    return {"row": "group", "wall_s": wall, "once": set(r.hvals(key)) == {"1"}}


def run_cephflow(url: str, args: argparse.Namespace, workers: list[Worker], every: float | None,
                 workdir: Path, serial: list[int]) -> dict:
    from cephflow.engine.client import WorkflowClient
    from cephflow.settings import Settings

    r = redis.Redis.from_url(url, decode_responses=True)
    lease = args.lease
    client = WorkflowClient(Settings(redis_url=url, namespace=NS, lease_seconds=lease))
    dag = staged_dag(args.steps, args.width, args.slots)
    t0 = time.monotonic()
    wf = client.submit(dag, user="bench")
    meta = keys.WorkflowKeys(NS, wf).meta
    kills, next_kill = 0, t0 + every if every else None
    up: list[int] = []
    while r.hget(meta, "state") not in (WorkflowState.SUCCEEDED, WorkflowState.FAILED,
                                        WorkflowState.CANCELLED):
        up.append(sum(1 for w in workers if w.ready()))
        if next_kill is not None and time.monotonic() >= next_kill:
            victim = next((w for w in workers if w.ready()), None)
            if victim is not None:
                victim.kill()
                kills += 1
                workers.remove(victim)
                serial[0] += 1
                workers.append(launch_worker(url, workdir / f"worker-{serial[0]}.log", lease))
                next_kill = time.monotonic() + every
        time.sleep(0.02)
    wall = time.monotonic() - t0
    state = r.hget(meta, "state")
    events = client.events(wf, "0-0", count=10**7)
    ids = {node.id for node in dag.nodes}
    ended = Counter(e.node for e in events
                    if e.type is EventType.NODE_STATE and e.state == "succeeded")
    runs = {k: int(v) for k, v in r.hgetall(f"bench:runs:{wf}").items()}
    client.close()
    return {"row": f"kills-{every:g}" if every else "cephflow", "every": every,
            "wall_s": wall, "state": state, "kills": kills, "workers_up": sum(up) / len(up),
            "resent": sum(1 for e in events if e.type is EventType.NODE_STATE
                          and e.detail == RESENT),
            "twice": sum(1 for c in runs.values() if c == 2),
            "more": sum(1 for c in runs.values() if c > 2),
            "lost": len(ids - set(runs)),
            "once": set(ended) == ids and set(ended.values()) == {1}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", default="3",
                        help="seconds between two kills; a comma list: one row each")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lease", type=float, default=5.0, help="the workers' lease seconds")
    parser.add_argument("--width", type=int, default=1000, help="steps per fan-out")
    parser.add_argument("--slots", type=int, default=8,
                        help="members of a fan-out running at once (0: no limit)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="chaos-bench-"))
    serial = [0]
    rows = []
    with private_redis(workdir) as url:
        use_redis(url, NS)
        r = redis.Redis.from_url(url, decode_responses=True)
        print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} {platform.node()} "
              f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {args.steps} steps, "
              f"fan-outs of {args.width} ({args.slots or 'no limit'} at once), "
              f"{args.workers} workers x {CONCURRENCY}, lease {args.lease:g} s, "
              f"kill every {args.every} s", flush=True)
        everies = [float(e) for e in args.every.split(",")]
        for kind in ("group", "cephflow", *(f"kills-{e:g}" for e in everies)):
            r.flushall()
            workers = start_workers(url, workdir, args.workers, args.lease, serial)
            try:
                if kind == "group":
                    row = run_group(url, args.steps, workers)
                else:
                    every = float(kind.split("-")[1]) if kind.startswith("kills") else None
                    row = run_cephflow(url, args, workers, every, workdir, serial)
            finally:
                for w in workers:
                    w.kill()
            rows.append(row)
            print(json.dumps(row, default=lambda x: round(x, 3)), flush=True)
        print_table(rows, args)
    shutil.rmtree(workdir, ignore_errors=True)


def print_table(rows: list[dict], args: argparse.Namespace) -> None:
    by = {r["row"]: r for r in rows}
    ref, calm = by["group"]["wall_s"], by["cephflow"]["wall_s"]
    print("\n| run | wall | × group | × no kills | kills survived | workers up (mean) | "
          "re-sent (lease) | effect ran twice | state, every step once |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["row"] == "group":
            print(f"| Celery group of {args.steps:,} (reference) | {r['wall_s']:.1f} s | 1.00 | - "
                  f"| - | - | - | - | {'every task once' if r['once'] else 'NOT once each'} |")
            continue
        name = f"cephflow, {args.steps:,} steps, " + (
            f"a worker killed every {r['every']:g} s" if r["every"] else "no kills")
        twice = f"{r['twice']}" + (f" (+{r['more']} more than twice)" if r["more"] else "")
        ok = f"{r['state']}, {'yes' if r['once'] and not r['lost'] else 'NO'}"
        print(f"| {name} | {r['wall_s']:.1f} s | {r['wall_s'] / ref:.2f} | "
              f"{r['wall_s'] / calm:.2f} | {r['kills']} | {r['workers_up']:.1f} of "
              f"{args.workers} | {r['resent']} | {twice} | {ok} |")


if __name__ == "__main__":
    main()
