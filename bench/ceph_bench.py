"""Per-call cost of Ceph access: the ``ceph`` CLI against librados, on the same commands.

Starts a lab cluster (or uses ``--conf`` of a running one), then times each read command
``--runs`` times through each backend and prints the median and best per call, plus the cost
of a typical wait-step check (``pg ls`` + ``health detail``) and of one osdmap change.

    .venv/bin/python bench/ceph_bench.py --runs 20
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from cephflow.ceph.backends import CliBackend, RadosBackend, rados_available
from cephflow.ceph.client import CephClient
from cephflow.ceph.command_runner import LocalRunner
from cephflow.lab.cluster import LabCluster

READS = {
    "health detail": lambda c: c.health(),
    "status": lambda c: c.status(),
    "osd tree": lambda c: c.osd_tree(),
    "osd dump": lambda c: c.osd_dump(),
    "osd df (mgr)": lambda c: c.osd_df(),
    "pg ls (mgr)": lambda c: c.pg_ls(),
    "ok-to-stop (mgr)": lambda c: c.ok_to_stop([0]),
    "safe-to-destroy (mgr)": lambda c: c.safe_to_destroy([0]),
    "wait check: pg ls + health": lambda c: (c.pg_ls(), c.health()),
}


def timed(fn, runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), min(samples)


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def bench(conf: Path, runs: int) -> None:
    cli = CephClient(CliBackend(LocalRunner(), conf=conf))
    if not rados_available():
        raise SystemExit("the rados binding is not importable here")
    rados = RadosBackend(conf=conf)
    lib = CephClient(cli.writer, rados)
    started = time.perf_counter()
    lib.health()
    connect = time.perf_counter() - started
    print(f"librados connect + first call: {fmt(connect)}")
    print("| call | CLI median | CLI best | librados median | librados best | ratio |")
    print("|---|---|---|---|---|---|")
    for name, fn in READS.items():
        c_med, c_best = timed(lambda fn=fn: fn(cli), runs)
        l_med, l_best = timed(lambda fn=fn: fn(lib), runs * 10)
        print(f"| {name} | {fmt(c_med)} | {fmt(c_best)} | {fmt(l_med)} | {fmt(l_best)} | "
              f"{c_med / l_med:.0f}x |")
    weight = cli.osd_tree().osds[0].crush_weight
    change = timed(lambda: cli.crush_reweight("osd.0", weight), max(runs // 4, 3))
    print(f"| osd crush reweight (CLI, mon commit) | {fmt(change[0])} | {fmt(change[1])} | | | |")
    rados.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--conf", type=Path, help="ceph.conf of a running cluster (else a lab)")
    args = parser.parse_args()
    if args.conf:
        bench(args.conf, args.runs)
        return
    with tempfile.TemporaryDirectory(prefix="ceph-bench-") as tmp:
        lab = LabCluster(Path(tmp))
        started = time.perf_counter()
        lab.start()
        print(f"lab cluster up in {time.perf_counter() - started:.1f} s")
        try:
            bench(lab.conf, args.runs)
        finally:
            lab.stop()


if __name__ == "__main__":
    main()
