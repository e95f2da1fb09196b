"""What following a big workflow costs: CPU share and memory of ``cephflow.cli.follow.follow``.

A 10,000-node workflow (100 stages x 100 parallel steps, the engine benchmark's shape) runs
for ``--seconds`` (default 15 s, the floor the engine is measured against) and emits, per node,
queued, running, one progress line and succeeded: 40,000 events at an even pace. The follower
draws the live tree into a terminal-sized console (output discarded) or prints plain lines,
exactly as ``cephflow run`` does, and we measure its process CPU time over wall time and its
peak RSS.

Sources:
  ``synthetic``  events generated in this process at the pace above (no Redis): the
                 follower's own cost, the generator's included.
  ``engine``     the real thing: a private redis-server and a Celery worker (2 processes) run
                 the same shape of ``core.log`` steps as fast as they can; the follower, in a
                 process of its own so that its CPU and memory are its alone, reads the
                 snapshot once and then the stream through ``WorkflowClient``.

Usage: ``.venv/bin/python bench/follow_bench.py [--source synthetic|engine] [--output live|plain]``
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Iterator

from rich.console import Console

from cephflow.cli.follow import follow
from cephflow.engine.state import (
    Event,
    EventType,
    NodeSnapshot,
    WorkflowSnapshot,
    WorkflowState,
    _stream_id,
)

WF_ID = "bench0000follow0"


def shape(stages: int, width: int) -> WorkflowSnapshot:
    """``stages`` fan-outs of ``width`` nodes, each fan-out after the previous one."""
    nodes: dict[str, NodeSnapshot] = {}
    previous: list[str] = []
    for s in range(stages):
        ids = [f"stage{s}[{i}]" for i in range(width)]
        for i, node_id in enumerate(ids):
            nodes[node_id] = NodeSnapshot(
                id=node_id, step=f"stage{s}", task="core.sleep", group=f"stage{s}", label=str(i),
                after=previous[:1],
            )
        previous = ids
    return WorkflowSnapshot(id=WF_ID, runbook="bench", params={"nodes": stages * width},
                            cluster="bench", submitted_at=time.time(), nodes=nodes)


def script(snapshot: WorkflowSnapshot) -> Iterator[tuple[EventType, dict]]:
    """The events of a run in order: 4 per node, then the workflow's end."""
    groups: dict[str, list[str]] = {}
    for node in snapshot.nodes.values():
        groups.setdefault(node.group or node.id, []).append(node.id)
    for members in groups.values():
        for node_id in members:
            yield EventType.NODE_STATE, {"node": node_id, "state": "queued"}
        for node_id in members:
            yield EventType.NODE_STATE, {"node": node_id, "state": "running", "attempt": 1}
            yield EventType.NODE_PROGRESS, {"node": node_id, "detail": "slept 0.0s of 0.0s"}
        for node_id in members:
            yield EventType.NODE_STATE, {"node": node_id, "state": "succeeded"}
    yield EventType.WORKFLOW_STATE, {"state": WorkflowState.SUCCEEDED.value}


class PacedSource:
    """Hands out the scripted events no faster than ``total / seconds`` per second."""

    def __init__(self, snapshot: WorkflowSnapshot, seconds: float):
        self.base = snapshot
        self.events_left = list(script(snapshot))
        self.total = len(self.events_left)
        self.rate = self.total / seconds
        self.sent = 0
        self.start = time.monotonic()

    def snapshot(self, wf_id: str) -> WorkflowSnapshot:
        self.start = time.monotonic()
        return self.base.model_copy(deep=True)

    def events(self, wf_id: str, after_id: str, block_ms: int, count: int) -> list[Event]:
        deadline = time.monotonic() + block_ms / 1000
        while True:
            due = min(int((time.monotonic() - self.start) * self.rate), self.total)
            if due > self.sent or time.monotonic() >= deadline:
                break
            time.sleep(min(1 / self.rate * 10, max(deadline - time.monotonic(), 0)))
        batch: list[Event] = []
        after = _stream_id(after_id)
        now = time.time()
        while self.sent < due and len(batch) < count:
            kind, fields = self.events_left[self.sent]
            self.sent += 1
            event_id = f"{1_000_000 + self.sent}-0"
            if _stream_id(event_id) > after:
                batch.append(Event(id=event_id, ts=now, type=kind, **fields))
        return batch


def peak_rss_mb() -> float:
    """This process's peak RSS (``VmHWM``: unlike ``ru_maxrss`` it is not inherited over exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(source, wf_id: str, output: str) -> dict[str, float]:
    sink = open(os.devnull, "w")  # noqa: SIM115
    console = Console(file=sink, force_terminal=output == "live", width=120, height=40,
                      color_system="truecolor" if output == "live" else None)
    rss_before = peak_rss_mb()
    cpu0, wall0 = time.process_time(), time.monotonic()
    code = follow(source, wf_id, output=output, console=console)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    return {"exit": code, "wall_s": wall, "cpu_s": cpu, "cpu_share": cpu / wall,
            "rss_before_mb": rss_before, "peak_rss_mb": peak_rss_mb()}


def engine_dag(stages: int, width: int):
    """The same shape as ``shape`` as a compiled DAG of ``core.log`` steps."""
    from cephflow.runbook.dag import Dag, Group, Node

    nodes, groups, previous = [], {}, []
    for s in range(stages):
        ids = [f"stage{s}[{i}]" for i in range(width)]
        groups[f"stage{s}"] = Group(id=f"stage{s}")
        nodes += [Node(id=node_id, step=f"stage{s}", task="core.log", group=f"stage{s}",
                       label=str(i), after=list(previous), args={"message": f"{node_id} done"})
                  for i, node_id in enumerate(ids)]
        previous = ids
    return Dag(runbook="bench", source="bench/follow_bench.py", groups=groups, nodes=nodes,
               params={"nodes": stages * width})


def run_engine(args: argparse.Namespace) -> dict[str, float]:
    """Redis, a worker, a submitted workflow; the follower measured in its own process."""
    import json
    import subprocess
    import tempfile
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from cephflow.engine.client import WorkflowClient
    from cephflow.settings import Settings
    from tests.fixtures.celery_worker import CeleryWorker
    from tests.fixtures.redis_server import RedisServer

    with tempfile.TemporaryDirectory(prefix="follow-bench-") as tmp:
        server = RedisServer(Path(tmp) / "redis")
        server.start()
        worker = CeleryWorker(server.url, Path(tmp), namespace="cfbench", lease=60, name="bench")
        try:
            worker.start()
            client = WorkflowClient(Settings(redis_url=server.url, namespace="cfbench"))
            wf = client.submit(engine_dag(args.stages, args.width))
            child = subprocess.run(
                [sys.executable, __file__, "--attach", wf, "--redis-url", server.url,
                 "--output", args.output],
                capture_output=True, text=True, check=False,
                env=dict(os.environ, CEPHFLOW_NAMESPACE="cfbench"),
            )
            if child.returncode != 0 or not child.stdout.strip():
                raise SystemExit(f"follower failed: {child.stderr[-2000:]}")
            result = json.loads(child.stdout.strip().splitlines()[-1])
            result["events"] = len(client.events(wf, "0-0", None, 10_000_000))
            client.close()
            return result
        finally:
            worker.stop()
            server.stop()


def attach(wf: str, redis_url: str, output: str) -> int:
    """The follower process of ``--source engine``: follow, then print its figures as JSON."""
    import json

    from cephflow.engine.client import WorkflowClient
    from cephflow.settings import Settings

    client = WorkflowClient(Settings(redis_url=redis_url, namespace="cfbench"))
    result = measure(client, wf, output)
    print(json.dumps(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stages", type=int, default=100)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--output", choices=["live", "plain", "json", "quiet"], default="live")
    parser.add_argument("--source", choices=["synthetic", "engine"], default="synthetic")
    parser.add_argument("--attach", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.attach:
        return attach(args.attach, args.redis_url, args.output)
    if args.source == "synthetic":
        snapshot = shape(args.stages, args.width)
        source = PacedSource(snapshot, args.seconds)
        result = measure(source, WF_ID, args.output)
        events = source.total
    else:
        result = run_engine(args)
        events = result["events"]
    print(f"follow {args.stages * args.width} nodes, {events} events, "
          f"source={args.source} output={args.output}: exit {result['exit']}, "
          f"wall {result['wall_s']:.1f}s, cpu {result['cpu_s']:.2f}s "
          f"= {result['cpu_share']:.1%} of one core, peak RSS {result['peak_rss_mb']:.0f} MB "
          f"(after imports {result['rss_before_mb']:.0f} MB)")
    ok = result["exit"] == 0 and result["cpu_share"] < 0.20 and result["peak_rss_mb"] < 100
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
