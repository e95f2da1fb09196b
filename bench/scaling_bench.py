#!/usr/bin/env python3
"""What one workflow costs its Redis: memory per step, commands per step, keys by size.

The figures ``docs/scaling.md`` sizes a fleet with. One private redis-server without AOF
(memory, not durability, is measured), one worker (prefork, 2 processes), one workflow of
``--steps`` no-op steps in fan-outs of ``--width`` (each after the whole previous one, as
runbooks drain hosts). Measured: Redis's ``used_memory`` before the submit, after it, and at
the end (the workflow kept for its retention); the workflow's own keys by ``MEMORY USAGE``;
Redis's ``total_commands_processed`` and CPU time (``INFO cpu``) over the run (engine, broker
and the worker's reconciler alike) divided by the steps. Prints one JSON object.

    .venv/bin/python bench/scaling_bench.py --steps 2000 --width 1000
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import redis
from harness import Worker, private_redis

from cephflow.engine import keys
from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.engine.state import WorkflowState

NS = os.environ.get("CEPHFLOW_NAMESPACE", "cephflow")


@task("scaling.noop")
def noop(ctx: StepContext) -> None:
    """Nothing: the engine's own cost is what is measured."""


def _cpu(r: redis.Redis) -> float:
    """Seconds of CPU the redis-server has used (its main thread and the others)."""
    info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def staged_dag(n: int, width: int):
    from cephflow.runbook.dag import Dag, Node

    nodes, prev = [], []
    for s, start in enumerate(range(0, n, width)):
        names = [f"s{s}[{i}]" for i in range(start, min(start + width, n))]
        nodes += [Node(id=x, step=f"s{s}", task="scaling.noop", after=prev) for x in names]
        prev = names
    return Dag(runbook="scaling", source="bench", nodes=nodes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--width", type=int, default=1000)
    args = parser.parse_args()

    from cephflow.engine.client import WorkflowClient
    from cephflow.settings import Settings

    with tempfile.TemporaryDirectory(prefix="scaling-bench-") as tmp, \
            private_redis(Path(tmp), fsync=None) as url:
        r = redis.Redis.from_url(url, decode_responses=True)
        worker = Worker(url, Path(tmp) / "worker.log", namespace=NS, tasks="scaling_bench")
        worker.start(settle=1.0)
        try:
            client = WorkflowClient(Settings(redis_url=url, namespace=NS))
            before = r.info("memory")["used_memory"]
            commands = r.info("stats")["total_commands_processed"]
            cpu = _cpu(r)
            t0 = time.monotonic()
            wf = client.submit(staged_dag(args.steps, args.width), user="bench")
            submitted = r.info("memory")["used_memory"]
            assert client.wait(wf, timeout=600) is WorkflowState.SUCCEEDED
            wall = time.monotonic() - t0
            ran = r.info("stats")["total_commands_processed"] - commands
            busy = _cpu(r) - cpu
            end = r.info("memory")["used_memory"]
            prefix = keys.WorkflowKeys(NS, wf).base
            sizes = {k[len(prefix):] or "(meta)": r.memory_usage(k, samples=0) or 0
                     for k in r.scan_iter(match=f"{prefix}*", count=1000)}
        finally:
            worker.stop()
    top = dict(sorted(sizes.items(), key=lambda kv: -kv[1])[:8])
    print(json.dumps({
        "steps": args.steps, "width": args.width, "wall_s": round(wall, 1),
        "steps_per_s": round(args.steps / wall, 1),
        "used_memory_after_submit_per_step_bytes": round((submitted - before) / args.steps),
        "used_memory_at_end_per_step_bytes": round((end - before) / args.steps),
        "workflow_keys": len(sizes), "workflow_key_bytes": sum(sizes.values()),
        "largest_keys_bytes": top,
        "redis_commands_per_step": round(ran / args.steps, 1),
        "redis_cpu_ms_per_step": round(busy * 1000 / args.steps, 3),
        "redis_cpu_share_of_one_core": round(busy / wall, 3),
    }, indent=2))


if __name__ == "__main__":
    main()
