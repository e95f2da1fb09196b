"""Engine benchmark: the same shapes through a flat Celery group, a Celery canvas,
celery-dyrygent and cephflow, on the same Redis and the same worker, in one run.

    .venv/bin/python bench/engine_bench.py [--sizes 1000,10000] [--big 100000] [--cap 90]

Shapes: ``n`` no-op tasks as a flat ``group`` (the floor), and as a chain of stages of 100
parallel tasks, each stage after the whole previous one (a chain of chords in Celery, the
same chain handed to celery-dyrygent, the same DAG submitted to cephflow). For each: wall time,
ratio to the floor, client submit time and peak memory (RSS above the baseline, sampled),
the largest broker message (measured at publish, in the client and the worker), worker peak
memory (main process and pool, psutil), and whether every task ran exactly once. Canvas and
dyrygent runs are capped (``--cap`` seconds); the report says how far they got.

    .venv/bin/python bench/engine_bench.py --runtime-fanout 10000

Runtime fan-outs instead, cephflow only, each on a fresh worker in the same run: a
``discover`` step whose output lists N items, then a fan-out of N no-op members (known at
compile time: the members are in the DAG; then the same expanded by the worker from
discover's output), then one step after every member. Wall time from submit to the end and
its ratio to the compile-time one. Third, a fan-in: after a compile-time fan-out of N members
that each output ``{"i": i}``, a step whose argument renders ``steps.work.outputs | length``;
its render time is measured in the worker, as the seconds from the node's claim (the
``started`` the claim script records) to its task call, less the same for the step after the
first fan-out (no late arguments: claim, spec and settings only).

This file is also the worker's task module (``CEPHFLOW_EXTRA_TASK_MODULES=engine_bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import redis
from celery import chain, chord, group, signals
from harness import Worker, bench_redis, private_redis, use_redis

from cephflow.engine import keys
from cephflow.engine.app import app
from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.engine.state import WorkflowState

NS = os.environ.get("CEPHFLOW_NAMESPACE", "cephflow")
WIDTH = 100

_max_seen = 0


@app.task(name="bench.noop", ignore_result=False)
def noop(tag: str, i: int, *_: object) -> int:
    bench_redis().hincrby(f"bench:runs:{tag}", str(i), 1)
    return i


@app.task(name="bench.join", ignore_result=False)
def join(*_: object) -> None:
    return None


@task("bench.cf_noop")
def cf_noop(ctx: StepContext) -> None:
    """A no-op that records its run."""
    ctx.backend.client.hincrby(f"bench:runs:{ctx.workflow_id}", ctx.node_id, 1)  # type: ignore[attr-defined]


@task("bench.cf_echo")
def cf_echo(ctx: StepContext, *, value: object = None) -> object:
    """A no-op that records its run and returns ``value`` as the step's output."""
    ctx.backend.client.hincrby(f"bench:runs:{ctx.workflow_id}", ctx.node_id, 1)  # type: ignore[attr-defined]
    return value


@task("bench.cf_probe")
def cf_probe(ctx: StepContext, *, value: object = None) -> object:
    """Record the seconds from the node's claim (``started``, the server's clock, which
    ``ctx.now()`` counts on) to this call: what the worker spent between the two, run-time
    rendering included."""
    ctx.backend.client.hset(f"bench:probe:{ctx.workflow_id}", ctx.node_id,  # type: ignore[attr-defined]
                            repr(ctx.now() - ctx.started_at))
    return {"value": value}


try:
    from celery_dyrygent.tasks import register_workflow_processor
    from celery_dyrygent.workflows import Workflow

    register_workflow_processor(app)
except ImportError:  # pragma: no cover - bench extra not installed
    Workflow = None  # type: ignore[assignment,misc]


_MAX_LUA = ("if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then "
            "redis.call('SET', KEYS[1], ARGV[1]) end")


@signals.before_task_publish.connect
def _measure(body: object = None, headers: dict | None = None, **_: object) -> None:
    """Keep the largest message published (body + headers, as JSON) in Redis."""
    global _max_seen
    size = len(json.dumps(body, default=str)) + len(json.dumps(headers or {}, default=str))
    if size > _max_seen:
        _max_seen = size
        try:
            bench_redis().eval(_MAX_LUA, 1, "bench:maxmsg", size)
        except redis.RedisError:
            pass


# -- harness ---------------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Samples the RSS of a set of processes every 50 ms; keeps the peak."""

    def __init__(self, pids_fn):
        super().__init__(daemon=True)
        self.pids_fn = pids_fn
        self.peak = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            total = 0
            for p in self.pids_fn():
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self.stop_event.wait(0.05)

    def stop(self) -> int:
        self.stop_event.set()
        self.join()
        return self.peak


def stages(n: int) -> list[list[int]]:
    return [list(range(s, min(s + WIDTH, n))) for s in range(0, n, WIDTH)]


def wait_count(r: redis.Redis, key: str, n: int, cap: float, t0: float) -> float | None:
    """Seconds from t0 until HLEN key == n, or None at the cap."""
    while True:
        if r.hlen(key) >= n:
            return time.monotonic() - t0
        if time.monotonic() - t0 > cap:
            return None
        time.sleep(0.05)


def exactly_once(r: redis.Redis, key: str, n: int) -> tuple[int, bool, bool]:
    """(tasks that ran, every task ran exactly once, those that ran did so once each)."""
    values = r.hvals(key)
    once_each = all(v == "1" for v in values)
    return len(values), len(values) == n and once_each, once_each


def measure_client(fn):
    """Run fn(); returns (result, seconds, peak RSS above the baseline in MB)."""
    me = psutil.Process()
    base = me.memory_info().rss
    sampler = Sampler(lambda: [me])
    sampler.start()
    t = time.monotonic()
    result = fn()
    seconds = time.monotonic() - t
    peak = max(sampler.stop(), me.memory_info().rss)
    return result, seconds, max(peak - base, 0) / 2**20


def run_one(kind: str, n: int, url: str, workdir: Path, cap: float) -> dict:
    global _max_seen
    r = redis.Redis.from_url(url, decode_responses=True)
    r.flushall()
    _max_seen = 0
    worker = Worker(url, workdir / f"worker-{kind}-{n}.log", namespace=NS, tasks="engine_bench")
    worker.start(settle=1.0)
    wsampler = Sampler(worker.processes)
    wsampler.start()
    worker_base = sum(p.memory_info().rss for p in worker.processes())
    tag = f"{kind}-{n}"
    row: dict = {"kind": kind, "n": n}
    t0 = time.monotonic()
    if kind == "floor":
        _, row["submit_s"], row["submit_mb"] = measure_client(
            lambda: group(noop.si(tag, i) for i in range(n)).apply_async())
        key, expect = f"bench:runs:{tag}", n
    elif kind == "canvas":
        def build_and_send():
            parts = []
            for ids in stages(n):
                parts.append(chord(group(noop.si(tag, i) for i in ids), join.si()))
            return chain(*parts).apply_async()
        _, row["submit_s"], row["submit_mb"] = measure_client(build_and_send)
        key, expect = f"bench:runs:{tag}", n
    elif kind == "dyrygent":
        def build_and_send():
            parts = [chord(group(noop.si(tag, i) for i in ids), join.si()) for ids in stages(n)]
            wf = Workflow()
            wf.set_retry_policy("random", 1, 2)
            wf.add_celery_canvas(chain(*parts))
            return wf.apply_async()
        _, row["submit_s"], row["submit_mb"] = measure_client(build_and_send)
        key, expect = f"bench:runs:{tag}", n
    else:
        from cephflow.engine.client import WorkflowClient
        from cephflow.runbook.dag import Dag, Node
        from cephflow.settings import Settings

        nodes, prev = [], []
        for s, ids in enumerate(stages(n)):
            names = [f"s{s}[{i}]" for i in ids]
            nodes += [Node(id=x, step=f"s{s}", task="bench.cf_noop", after=prev) for x in names]
            prev = names
        dag = Dag(runbook="bench", source="bench", nodes=nodes)
        client = WorkflowClient(Settings(redis_url=url, namespace=NS))
        t0 = time.monotonic()
        wf, row["submit_s"], row["submit_mb"] = measure_client(
            lambda: client.submit(dag, user="bench"))
        key, expect = f"bench:runs:{wf}", n
        del dag, nodes
    done = wait_count(r, key, expect, cap, t0)
    row["wall_s"] = done
    row["ran"], row["exactly_once"], row["once_each"] = exactly_once(r, key, expect)
    if kind in ("canvas", "dyrygent") and done is None:
        row["stages_done"] = row["ran"] // WIDTH
        row["wall_s"] = None
    if kind == "cephflow" and done is not None:
        deadline = time.monotonic() + 30
        meta = keys.WorkflowKeys(NS, wf).meta
        while r.hget(meta, "state") != WorkflowState.SUCCEEDED and time.monotonic() < deadline:
            time.sleep(0.05)
        row["wall_s"] = time.monotonic() - t0
        row["state"] = r.hget(meta, "state")
    row["max_msg_bytes"] = int(r.get("bench:maxmsg") or 0)
    row["worker_base_mb"] = worker_base / 2**20
    row["worker_peak_mb"] = wsampler.stop() / 2**20
    worker.kill()
    return row


# -- runtime fan-outs (``--runtime-fanout N``) ------------------------------------------------

FANOUT_KINDS = ("compile", "runtime", "fanin")
FANOUT_NAMES = {"compile": "fan-out known at compile time",
                "runtime": "runtime fan-out (expanded by the worker)",
                "fanin": "fan-in reading every member's output"}


def fanout_dag(kind: str, n: int):
    """``discover`` (its output lists ``n`` items), the ``work`` fan-out of ``n`` no-op members
    after it, and ``done`` after every member.

    compile: the members are in the DAG (what the compiler writes when it knows the items);
    runtime: ``work`` is an expander over ``steps.discover.output['items']``;
    fanin: as compile, each member outputs ``{"i": i}``, and ``done`` renders
    ``steps.work.outputs | length`` when it is ready (its probe time is that render)."""
    from cephflow.runbook.dag import Dag, FanOut, Group, Late, Node, StepRef

    discover = Node(id="discover", step="discover", task="bench.cf_echo",
                    args={"value": {"items": list(range(n))}})
    ids = [f"work[{i}]" for i in range(n)]
    done_late = None
    if kind == "runtime":
        work = [Node(id="work", step="work", task="bench.cf_noop", after=["discover"],
                     expand=FanOut(items="{{ steps.discover.output['items'] }}", var="i"),
                     late=Late(reads={"discover": StepRef(nodes=["discover"])}))]
        after = ["work"]
    else:
        task_name, args = ("bench.cf_echo", True) if kind == "fanin" else ("bench.cf_noop", False)
        work = [Node(id=x, step="work", task=task_name, after=["discover"], group="work",
                     label=str(i), args={"value": {"i": i}} if args else {})
                for i, x in enumerate(ids)]
        after = ids
        if kind == "fanin":
            done_late = Late(args={"value": "{{ steps.work.outputs | length }}"},
                             reads={"work": StepRef(nodes=ids, fanout=True)})
    done = Node(id="done", step="done", task="bench.cf_probe", after=after, late=done_late)
    return Dag(runbook="bench", source="bench", nodes=[discover, *work, done],
               groups={"work": Group(id="work")})


def run_fanout(kind: str, n: int, url: str, workdir: Path) -> dict:
    """One runtime fan-out shape on a fresh worker: wall time from submit to the workflow's
    end, and ``done``'s seconds from claim to task call."""
    from cephflow.engine.client import WorkflowClient
    from cephflow.settings import Settings

    r = redis.Redis.from_url(url, decode_responses=True)
    r.flushall()
    worker = Worker(url, workdir / f"worker-{kind}-{n}.log", namespace=NS, tasks="engine_bench")
    worker.start(settle=1.0)
    row: dict = {"kind": kind, "n": n}
    dag = fanout_dag(kind, n)
    client = WorkflowClient(Settings(redis_url=url, namespace=NS))
    t0 = time.monotonic()
    wf, row["submit_s"], row["submit_mb"] = measure_client(lambda: client.submit(dag, user="bench"))
    meta = keys.WorkflowKeys(NS, wf).meta
    deadline = t0 + max(600.0, n / 50)
    while r.hget(meta, "state") not in (WorkflowState.SUCCEEDED, WorkflowState.FAILED,
                                        WorkflowState.CANCELLED) and time.monotonic() < deadline:
        time.sleep(0.02)
    row["wall_s"] = time.monotonic() - t0
    row["state"] = r.hget(meta, "state")
    row["ran"], row["exactly_once"], _ = exactly_once(
        r, f"bench:runs:{wf}", n + 1)  # the members and discover
    probe = r.hget(f"bench:probe:{wf}", "done")
    row["done_claim_to_call_s"] = float(probe) if probe else None
    worker.kill()
    client.close()
    return row


def print_fanout_table(rows: list[dict]) -> None:
    compile_wall = {r["n"]: r["wall_s"] for r in rows if r["kind"] == "compile"}
    probe_base = {r["n"]: r["done_claim_to_call_s"] for r in rows if r["kind"] == "compile"}
    print("\n| shape | members | wall | × compile-time | submit | state | exactly once | "
          "done: claim → call | render (− compile-time's) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        base = compile_wall.get(r["n"])
        ratio = f"{r['wall_s'] / base:.2f}" if base else "-"
        probe = r["done_claim_to_call_s"]
        probe_s = f"{probe * 1000:.1f} ms" if probe is not None else "-"
        render = "-"
        if r["kind"] == "fanin" and probe is not None and probe_base.get(r["n"]) is not None:
            render = f"{(probe - probe_base[r['n']]) * 1000:.1f} ms"
        once = "yes" if r["exactly_once"] else f"no ({r['ran']} ran)"
        print(f"| {FANOUT_NAMES[r['kind']]} | {r['n']:,} | {r['wall_s']:.2f} s | {ratio} | "
              f"{r['submit_s']:.2f} s | {r['state']} | {once} | {probe_s} | {render} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--big", type=int, default=100_000, help="cephflow-only size (0: skip)")
    parser.add_argument("--cap", type=float, default=90.0, help="seconds for canvas/dyrygent")
    parser.add_argument("--kinds", default="floor,canvas,dyrygent,cephflow")
    parser.add_argument("--runtime-fanout", type=int, default=0, metavar="N",
                        help="instead: a fan-out of N members known at compile time, the same "
                             "expanded at run time, and a fan-in reading N outputs")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="engine-bench-"))
    try:
        with private_redis(workdir) as url:
            use_redis(url, NS)
            run_all(args, url, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.stdout.flush()
    os._exit(0)  # skip the result backend's noisy teardown of abandoned canvas results


def run_all(args: argparse.Namespace, url: str, workdir: Path) -> None:
    """The rows the arguments ask for, printed as they come and as a table."""
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} {platform.node()} "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}", flush=True)
    if args.runtime_fanout:
        fan_rows = []
        for kind in FANOUT_KINDS:
            row = run_fanout(kind, args.runtime_fanout, url, workdir)
            fan_rows.append(row)
            print(json.dumps(row, default=lambda x: round(x, 4)), flush=True)
        print_fanout_table(fan_rows)
        return
    rows = []
    floors: dict[int, float] = {}
    plan = [(k, int(n)) for n in args.sizes.split(",") for k in args.kinds.split(",")]
    if args.big and "cephflow" in args.kinds:
        plan.append(("cephflow", args.big))
    for kind, n in plan:
        cap = args.cap if kind in ("canvas", "dyrygent") else max(600.0, n / 50)
        row = run_one(kind, n, url, workdir, cap)
        if kind == "floor" and row["wall_s"]:
            floors[n] = row["wall_s"]
        if row.get("wall_s") and n in floors:
            row["ratio"] = row["wall_s"] / floors[n]
        rows.append(row)
        print(json.dumps(row, default=lambda x: round(x, 3)), flush=True)
    print_table(rows, args.cap)


def print_table(rows: list[dict], cap: float) -> None:
    print("\n| shape | tasks | wall | × floor | submit | client MB | max message | "
          "worker MB (base → peak) | exactly once |")
    print("|---|---|---|---|---|---|---|---|---|")
    names = {"floor": "flat group (floor)", "canvas": "chain of chords (canvas)",
             "dyrygent": "celery-dyrygent", "cephflow": "cephflow"}
    for r in rows:
        if r["wall_s"] is None:
            wall = f"> {cap:.0f} s cap ({r.get('stages_done', 0)} of {r['n'] // WIDTH} stages)"
        else:
            wall = f"{r['wall_s']:.1f} s"
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") else "-"
        msg = r["max_msg_bytes"]
        msg_s = f"{msg / 2**20:.1f} MB" if msg > 2**20 else f"{msg / 1024:.1f} KB"
        once = "yes" if r["exactly_once"] else f"no ({r['ran']} of {r['n']} ran)"
        if r["wall_s"] is None and r["once_each"]:
            once = f"so far ({r['ran']:,} ran, once each)"
        print(f"| {names[r['kind']]} | {r['n']:,} | {wall} | {ratio} | {r['submit_s']:.2f} s | "
              f"{r['submit_mb']:.0f} | {msg_s} | {r['worker_base_mb']:.0f} → "
              f"{r['worker_peak_mb']:.0f} | {once} |")


if __name__ == "__main__":
    main()
