"""Soak: many steps, as many workflows, through one worker pool; does anything grow?

    .venv/bin/python bench/soak_bench.py [--steps 1000000] [--per-workflow 10000]
                                         [--in-flight 3] [--retention 20] [--interval 10]

Starts one private redis-server (unix socket) and one Celery worker (``celery -A
cephflow.engine.app worker --pool prefork -c 2``, this file its extra task module), then
submits ``--steps`` no-op steps as workflows of ``--per-workflow`` steps each, ``--in-flight``
at a time, cycling through four shapes: stages of 100 parallel steps, each after the whole
previous stage; stages of 10; a runtime fan-out (a discover step whose output lists the items,
the members expanded by the worker, one step after them); a compile-time fan-out in a group
limited to 50 at a time (members held back in the group's ready list). Each workflow is
submitted with a retention of ``--retention`` seconds, so finished ones expire while the soak
goes on.

Every ``--interval`` seconds it prints the steps run so far, the worker's RSS (main process and
pool children, summed; psutil) and Redis's ``used_memory`` and key count. At the end it waits
for the last workflow's retention, then lists the keyspace: every key under the namespace must
be one of ``keys.long_lived`` (anything else is a leak), and prints Redis's memory against its
baseline (taken after a warm-up workflow of each shape has expired, so the script cache and the
broker's own keys are in it), the part of the difference that is the audit records and index
entries cephflow keeps by design, and the worker's RSS over the first and last 10 % of the run.

``--stop-after SECONDS`` (or SIGINT) stops submitting: the workflows in flight finish and the
end is measured as usual, over the workflows that ran.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis
from harness import Worker, private_redis

from cephflow.engine.context import StepContext
from cephflow.engine.registry import task

NS = "soak"
RAN = "bench:soak:ran"
"""Counter of task calls (outside the namespace: the bench's own, one key)."""


@task("soak.noop")
def noop(ctx: StepContext) -> None:
    """Count the call; nothing else."""
    ctx.backend.client.incr(RAN)  # type: ignore[attr-defined]


@task("soak.items")
def items(ctx: StepContext, *, n: int) -> dict:
    """Count the call; output ``n`` items for a runtime fan-out."""
    ctx.backend.client.incr(RAN)  # type: ignore[attr-defined]
    return {"items": list(range(n))}


# -- shapes ------------------------------------------------------------------------------------

SHAPES = ("stages of 100", "stages of 10", "runtime fan-out", "limited fan-out")


def shape_dag(shape: str, steps: int):
    """A DAG of ``shape`` whose task calls number ``steps``."""
    from cephflow.runbook.dag import Dag, FanOut, Group, Late, Node, StepRef

    def noop_node(id: str, after: list[str], **kw) -> Node:
        return Node(id=id, step=kw.pop("step", id.split("[")[0]), task="soak.noop", after=after,
                    **kw)

    nodes: list[Node] = []
    groups: dict[str, Group] = {}
    if shape.startswith("stages"):
        width = 100 if shape.endswith("100") else 10
        prev: list[str] = []
        for s, start in enumerate(range(0, steps, width)):
            ids = [f"s{s}[{i}]" for i in range(start, min(start + width, steps))]
            nodes += [noop_node(x, prev, step=f"s{s}") for x in ids]
            prev = ids
    elif shape == "runtime fan-out":
        nodes = [Node(id="discover", step="discover", task="soak.items", args={"n": steps - 2}),
                 noop_node("work", ["discover"],
                           expand=FanOut(items="{{ steps.discover.output['items'] }}", var="i",
                                         source="the output of discover"),
                           late=Late(reads={"discover": StepRef(nodes=["discover"])})),
                 noop_node("done", ["work"])]
    else:
        ids = [f"work[{i}]" for i in range(steps - 2)]
        nodes = [noop_node("start", []),
                 *(noop_node(x, ["start"], group="work") for x in ids),
                 noop_node("done", ids)]
        groups = {"work": Group(id="work", concurrency=50)}
    return Dag(runbook=f"soak: {shape}", source="bench", nodes=nodes, groups=groups)


# -- harness -----------------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Every ``interval`` s: steps run, worker RSS, Redis used_memory and key count."""

    def __init__(self, r: redis.Redis, worker: Worker, interval: float, t0: float):
        super().__init__(daemon=True)
        self.r, self.worker, self.interval, self.t0 = r, worker, interval, t0
        self.samples: list[dict] = []
        self.stopping = threading.Event()

    def sample(self) -> dict:
        info = self.r.info("memory")
        row = {"t": round(time.monotonic() - self.t0, 1), "ran": int(self.r.get(RAN) or 0),
               "rss_mb": round(self.worker.rss() / 2**20, 1),
               "redis_mb": round(info["used_memory"] / 2**20, 2), "keys": self.r.dbsize()}
        self.samples.append(row)
        print(json.dumps(row), flush=True)
        return row

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.sample()
            except (redis.RedisError, OSError) as exc:
                print(f"# sample failed: {exc}", flush=True)

    def stop(self) -> None:
        self.stopping.set()
        self.join()


def used_memory(r: redis.Redis) -> int:
    return int(r.info("memory")["used_memory"])


def leftovers(r: redis.Redis) -> list[str]:
    """Namespace keys that are not long-lived: the leaked ones, once retention has passed."""
    from cephflow.engine import keys

    return sorted(k for k in r.scan_iter(match=f"{NS}:*", count=5000)
                  if not keys.is_long_lived(k, NS))


def wait_expired(r: redis.Redis, retention: float, slack: float = 60.0) -> tuple[list[str], float]:
    """Wait until no workflow key is left, or retention + slack; (what is left, seconds)."""
    t = time.monotonic()
    left = leftovers(r)
    while left and time.monotonic() - t < retention + slack:
        time.sleep(1.0)
        left = leftovers(r)
    return left, time.monotonic() - t


def run_workflows(client, r: redis.Redis, plan: list[tuple[str, int]], in_flight: int,
                  stop: threading.Event) -> list[dict]:
    """Submit ``plan`` (shape, steps) keeping ``in_flight`` workflows running; returns one row
    per workflow that ran (submitted before ``stop``)."""
    from cephflow.engine import keys
    from cephflow.engine.state import WorkflowState

    ended = {WorkflowState.SUCCEEDED, WorkflowState.FAILED, WorkflowState.CANCELLED}
    running: dict[str, dict] = {}
    done: list[dict] = []
    todo = list(plan)
    while todo or running:
        while todo and len(running) < in_flight and not stop.is_set():
            shape, steps = todo.pop(0)
            dag = shape_dag(shape, steps)
            t = time.monotonic()
            wf = client.submit(dag, user="soak")
            running[wf] = {"wf": wf, "shape": shape, "steps": steps, "t0": t,
                           "submit_s": time.monotonic() - t}
            del dag
        if stop.is_set():
            todo.clear()
        time.sleep(0.5)
        for wf, row in list(running.items()):
            state = r.hget(keys.WorkflowKeys(NS, wf).meta, "state")
            if state in ended:
                row["state"] = state
                row["wall_s"] = time.monotonic() - row.pop("t0")
                done.append(running.pop(wf))
                print(f"# {row['shape']}: {row['steps']:,} steps {state} in {row['wall_s']:.1f} s"
                      f" ({len(done)} workflows done)", flush=True)
    return done


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--per-workflow", type=int, default=10_000)
    parser.add_argument("--in-flight", type=int, default=3)
    parser.add_argument("--retention", type=float, default=20.0, help="seconds")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--stop-after", type=float, default=0.0,
                        help="stop submitting after this many seconds (0: never)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="soak-bench-"))
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still stops Redis and the worker
    try:
        with private_redis(workdir, fsync=None) as url:
            worker = Worker(url, workdir / "worker.log", namespace=NS, tasks="soak_bench")
            try:
                soak(args, url, worker, stop)
            finally:
                worker.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def soak(args: argparse.Namespace, url: str, worker: Worker, stop: threading.Event) -> None:
    """Baseline, the run, the wait for retention, and the report."""
    from cephflow.engine import keys
    from cephflow.engine.client import WorkflowClient
    from cephflow.settings import Settings

    r = redis.Redis.from_url(url, decode_responses=True)
    client = WorkflowClient(Settings(redis_url=url, namespace=NS,
                                     retention_days=args.retention / 86400))
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} {platform.node()} "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {args.steps:,} steps as "
          f"workflows of {args.per_workflow:,}, {args.in_flight} in flight, retention "
          f"{args.retention:g} s", flush=True)
    worker.start()

    # warm-up: one small workflow of each shape, then its retention
    run_workflows(client, r, [(s, 50) for s in SHAPES], len(SHAPES), threading.Event())
    left, _ = wait_expired(r, args.retention)
    assert not left, f"warm-up keys did not expire: {left[:10]}"
    base_mem = used_memory(r)
    base_audit = len(list(r.scan_iter(match=keys.audit(NS, "*"), count=5000)))
    base_rss = worker.rss()
    r.set(RAN, 0)
    print(f"# baseline: redis used_memory {base_mem / 2**20:.2f} MB, worker RSS "
          f"{base_rss / 2**20:.1f} MB", flush=True)

    n_wf = max(args.steps // args.per_workflow, 1)
    plan = [(SHAPES[i % len(SHAPES)], args.per_workflow) for i in range(n_wf)]
    t0 = time.monotonic()
    if args.stop_after:
        threading.Timer(args.stop_after, stop.set).start()
    sampler = Sampler(r, worker, args.interval, t0)
    sampler.start()
    sampler.sample()
    rows = run_workflows(client, r, plan, args.in_flight, stop)
    wall = time.monotonic() - t0
    sampler.stop()
    last = sampler.sample()
    stop.set()

    left, waited = wait_expired(r, args.retention)
    end_mem = used_memory(r)
    audits = list(r.scan_iter(match=keys.audit(NS, "*"), count=5000))
    audit_bytes = sum(r.memory_usage(k) or 0 for k in audits)
    index_bytes = sum(r.memory_usage(k) or 0 for k in (keys.workflows(NS),
                                                       keys.workflow_ids(NS)))
    others = sorted(k for k in r.scan_iter(count=5000) if not k.startswith(f"{NS}:"))
    end_rss = worker.rss()
    report(args, rows, sampler.samples, wall, last, left, waited, base_mem, end_mem,
           len(audits) - base_audit, audit_bytes, index_bytes, others, base_rss, end_rss,
           int(r.get(RAN) or 0))
    client.close()


def report(args, rows, samples, wall, last, left, waited, base_mem, end_mem, new_audits,
           audit_bytes, index_bytes, others, base_rss, end_rss, ran) -> None:
    steps = sum(r["steps"] for r in rows)
    states: dict[str, int] = {}
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + 1
    tenth = max(len(samples) // 10, 1)
    first = mean([s["rss_mb"] for s in samples[:tenth]])
    final = mean([s["rss_mb"] for s in samples[-tenth:]])
    peak_redis = max(s["redis_mb"] for s in samples)
    growth = final - first
    rss_flat = growth <= max(5.0, first * 0.05)
    delta = (end_mem - base_mem) / 2**20
    kept = (audit_bytes + index_bytes) / 2**20
    print()
    print(f"workflows: {len(rows)} ({', '.join(f'{n} {s}' for s, n in states.items())}); "
          f"steps: {steps:,} planned, {ran:,} task calls; wall {wall:.0f} s "
          f"({ran / wall:.0f} steps/s); {len(samples)} samples")
    print(f"worker RSS: baseline {base_rss / 2**20:.1f} MB, first 10 % {first:.1f} MB, "
          f"last 10 % {final:.1f} MB (growth {growth:+.1f} MB), peak "
          f"{max(s['rss_mb'] for s in samples):.1f} MB, after {end_rss / 2**20:.1f} MB")
    print(f"redis used_memory: baseline {base_mem / 2**20:.2f} MB, peak {peak_redis:.2f} MB, "
          f"after retention {end_mem / 2**20:.2f} MB ({delta:+.2f} MB; of which audit records "
          f"{audit_bytes / 2**20:.2f} MB for {new_audits} new workflows and the two indexes "
          f"{index_bytes / 2**20:.3f} MB, kept by design: {kept:.2f} MB); waited {waited:.0f} s")
    print(f"namespace keys left that are not long-lived: {len(left)} {left[:10]}")
    print(f"keys outside the namespace: {others}")
    verdict = []
    verdict.append("worker RSS flat" if rss_flat else "worker RSS GREW")
    verdict.append("no leaked keys" if not left else f"{len(left)} LEAKED KEYS")
    back = delta - kept <= 1.0
    verdict.append("redis memory back to baseline + audit records" if back
                   else "redis memory NOT back to baseline")
    verdict.append("every step ran once" if ran == steps else f"task calls {ran:,} != {steps:,}")
    print("verdict: " + "; ".join(verdict))


if __name__ == "__main__":
    main()
