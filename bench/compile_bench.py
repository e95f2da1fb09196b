"""How long the runbook compiler takes for a 10,000-node fan-out (not a test: prints figures).

    .venv/bin/python bench/compile_bench.py [--nodes 10000] [--runs 7]

Three shapes, each compiled ``--runs`` times (the median and the best are printed):
  fan-out        start -> work[0..N-1] -> end (fan-in: ``end`` waits for all N)
  fan-out+gate   the same with an approval gate and a per-item ``when`` and label template
  two stages     two N-way fan-outs in a row (the second waits for all of the first)
Also printed: load+check time alone, and ``Dag.to_json()`` size and time.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cephflow.runbook.catalog import CATALOG, TaskSpec, params_from_signature
from cephflow.runbook.compiler import Compiler
from cephflow.task_names import APPROVAL_TASK

FAN_OUT = """
name: fan-out
params:
  n: {type: int, default: 10000}
steps:
  - id: start
    task: core.log
    with: {message: "start {{ n }}"}
  - id: work
    task: core.sleep
    after: start
    foreach: "{{ range(n) | list }}"
    concurrency: 100
    retry: {attempts: 3, backoff: 5s}
    timeout: 10m
    with: {seconds: "{{ item }}"}
  - id: end
    task: core.log
    after: work
    with: {message: "end"}
finally:
  - id: bye
    task: core.log
    with: {message: bye}
"""

GATED = """
name: fan-out-gate
params:
  n: {type: int, default: 10000}
steps:
  - id: work
    task: core.log
    foreach: "{{ range(n) | list }}"
    as: osd
    label: "osd.{{ osd }}"
    when: "osd % 7 != 0"
    approval: "Go ahead with {{ n }} items?"
    with: {message: "osd.{{ osd }} weight {{ osd / 100 }}"}
  - id: end
    task: core.log
    after: work
    with: {message: "end"}
"""

TWO_STAGES = """
name: two-stages
params:
  n: {type: int, default: 5000}
steps:
  - id: a
    task: core.sleep
    foreach: "{{ range(n) | list }}"
    with: {seconds: "{{ item }}"}
  - id: b
    task: core.log
    after: a
    foreach: "{{ range(n) | list }}"
    with: {message: "b {{ item }}"}
"""


def approval_stand_in(ctx, *, message: str = "", approvers: list[str] | None = None) -> None:
    """Used only when the real core.approval is not importable."""


def catalog() -> dict[str, TaskSpec]:
    import cephflow.tasks.core  # noqa: F401

    try:
        import cephflow.tasks.approval  # noqa: F401
    except Exception:  # noqa: BLE001 - the bench only needs the spec
        CATALOG[APPROVAL_TASK] = TaskSpec(
            APPROVAL_TASK, params_from_signature(approval_stand_in, skip_first=True))
    return dict(CATALOG)


def measure(text: str, params: dict, runs: int, tmp: Path) -> dict:
    path = tmp / "bench.yaml"
    path.write_text(text)
    cat = catalog()
    times, checks = [], []
    dag = None
    for _ in range(runs):
        compiler = Compiler(catalog=cat, lookups={}, search_path=[tmp])
        t0 = time.perf_counter()
        loaded = compiler.load(path)
        compiler.check(loaded)
        t1 = time.perf_counter()
        compiler = Compiler(catalog=cat, lookups={}, search_path=[tmp])
        t2 = time.perf_counter()
        dag = compiler.compile(compiler.load(path), params)
        t3 = time.perf_counter()
        checks.append(t1 - t0)
        times.append(t3 - t2)
    t0 = time.perf_counter()
    text_json = dag.to_json()
    json_s = time.perf_counter() - t0
    return {"nodes": len(dag.nodes), "edges": sum(len(n.after) for n in dag.nodes),
            "median": statistics.median(times), "best": min(times),
            "check": statistics.median(checks), "json_s": json_s, "json_kb": len(text_json) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{platform.platform()}; runs={args.runs}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, text, params in (
            ("fan-out", FAN_OUT, {"n": args.nodes}),
            ("fan-out+gate", GATED, {"n": args.nodes}),
            ("two stages", TWO_STAGES, {"n": args.nodes // 2}),
        ):
            r = measure(text, params, args.runs, Path(tmp))
            print(f"{name:13} {r['nodes']:6} nodes {r['edges']:9} edges  compile median "
                  f"{r['median'] * 1000:7.1f} ms  best {r['best'] * 1000:7.1f} ms  "
                  f"(load+check {r['check'] * 1000:5.1f} ms; to_json {r['json_s'] * 1000:6.1f} ms, "
                  f"{r['json_kb']:.0f} KiB)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
