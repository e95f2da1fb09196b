"""Cost of a plan with its movement prediction: on the lab, and on a synthetic 1,000-OSD map.

Lab (starts one, or ``--conf`` of a running one): the median of ``--runs`` plans of
``reweight --osd 4 --target 0`` (compile with every discover lookup, the prediction included)
and of the prediction alone, on each backend.

Synthetic: ``crushtool --build`` 1,000 OSDs in 100 hosts in 10 racks, ``osdmaptool
--createsimple`` with a 3-copy pool, mapped with ``--pg_num 100000`` (100,000 PGs) and every
OSD up and in; ``pg ls``/``osd df`` answers made up in the shape the lab's Ceph prints them
(every field of a real ``pg ls`` entry, ~2.4 KB per PG), read as the client reads them.
Timed: the whole ``MovementTool.predict`` (bytes per PG from ``pg ls``, ``osd df``, both
``osdmaptool`` runs, the comparison, fullness, JSON answer) for one OSD to weight 0 and for a
host of 10 OSDs to 0. Target: under 5 s. A plan has no Celery analogue: absolute figures.

    .venv/bin/python bench/predict_bench.py --runs 5
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cephflow.ceph.models import OsdDump, PgList, parse_osd_df
from cephflow.ceph.movement import WeightChange
from cephflow.ceph.movement_tools import MovementTool

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "tests" / "ceph" / "data" / "movement_pg_ls.json"
OSDS, HOSTS, PGS = 1000, 100, 100_000
MAP_ARGS = ["--mark-up-in", "--pg_num", str(PGS)]
TARGET = 5.0
RATE = 100 * 2**20


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (osdmaptool): what the work costs
    whatever else the machine runs."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def median(fn, runs: int) -> tuple[float, float, object]:
    samples, value = [], None
    cpu = []
    for _ in range(runs):
        started, used = time.perf_counter(), cpu_seconds()
        value = fn()
        samples.append(time.perf_counter() - started)
        cpu.append(cpu_seconds() - used)
    median.cpu = statistics.median(cpu)  # type: ignore[attr-defined]
    return statistics.median(samples), min(samples), value


def build_map(workdir: Path) -> Path:
    """An osdmap of 1,000 OSDs (10 per host, 10 hosts per rack) and one 3-copy pool."""
    crush, osdmap = workdir / "crush.bin", workdir / "osdmap.bin"
    for argv in (
        ["crushtool", "-o", str(crush), "--build", "--num_osds", str(OSDS),
         "host", "straw2", str(OSDS // HOSTS), "rack", "straw2", "10", "root", "straw2", "0"],
        ["osdmaptool", str(osdmap), "--createsimple", str(OSDS), "--with-default-pool",
         "--pg-bits", "7", "--pgp-bits", "7", "--clobber"],
        ["osdmaptool", str(osdmap), "--import-crush", str(crush)],
    ):
        subprocess.run(argv, check=True, capture_output=True)
    return osdmap


class SyntheticClient:
    """Answers as a 1,000-OSD cluster would, from made-up JSON text parsed on every read."""

    def __init__(self, osdmap: Path, up: dict[str, tuple[int, ...]], seed: int = 1):
        rng = random.Random(seed)
        self.map = osdmap.read_bytes()
        template = json.loads(TEMPLATE.read_text())["pg_stats"][0]
        stats, held = [], {}
        for pgid, members in up.items():
            entry = copy.deepcopy(template)
            size = rng.randrange(2, 6) * 2**30  # 2-5 GiB a PG: ~1.4 TiB an OSD
            entry.update(pgid=pgid, up=list(members), acting=list(members),
                         up_primary=members[0], acting_primary=members[0])
            entry["stat_sum"]["num_bytes"] = size
            stats.append(entry)
            for osd in members:
                held[osd] = held.get(osd, 0) + size
        self.pg_text = json.dumps({"pg_ready": True, "pg_stats": stats})
        kb = 4 * 2**30  # 4 TiB disks, in KiB
        self.df_text = json.dumps({"nodes": [
            {"id": i, "device_class": "hdd", "name": f"osd.{i}", "type": "osd", "type_id": 0,
             "crush_weight": 3.6, "depth": 3, "pool_weights": {}, "reweight": 1, "kb": kb,
             "kb_used": held.get(i, 0) // 1024 + 2**20, "kb_avail": kb - held.get(i, 0) // 1024,
             "utilization": 0.0, "var": 1.0, "pgs": 0, "status": "up"} for i in range(OSDS)],
            "stray": [], "summary": {}})
        self.dump = {"epoch": 3, "nearfull_ratio": 0.85, "backfillfull_ratio": 0.9,
                     "full_ratio": 0.95, "flags": "", "osds": [], "erasure_code_profiles": {},
                     "pools": [{"pool": 1, "pool_name": "rbd", "type": 1, "size": 3,
                                "min_size": 2, "crush_rule": 0}]}

    def osdmap_bytes(self) -> bytes:
        return self.map

    def query(self, command):
        return {"osd dump": self.dump, "status": {"pgmap": {}}}[command.prefix]

    def osd_dump(self) -> OsdDump:
        return OsdDump.from_json(self.dump)

    def pg_ls_text(self) -> str:
        return self.pg_text

    def pg_ls(self) -> PgList:
        return PgList.from_json(json.loads(self.pg_text))

    def osd_df(self):
        return parse_osd_df(json.loads(self.df_text))


def synthetic(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="predict-bench-") as tmp:
        osdmap = build_map(Path(tmp))
        tool = MovementTool(map_args=MAP_ARGS)
        started = time.perf_counter()
        up, _, _ = tool.up_sets(osdmap.read_bytes())
        one_dump = time.perf_counter() - started
        client = SyntheticClient(osdmap, up)
        print(f"synthetic map: {OSDS} OSDs, {HOSTS} hosts, {len(up)} PGs (3 copies); "
              f"pg ls JSON {len(client.pg_text) / 2**20:.0f} MiB; one osdmaptool mapping "
              f"{one_dump:.2f} s")
        scan, _, _ = median(lambda: MovementTool.pg_bytes(client), runs)
        parse, _, _ = median(client.pg_ls, 1)
        print(f"pg ls: bytes per PG scanned from the text {scan:.2f} s (json.loads + PgList "
              f"of it: {parse:.2f} s, what the precheck's pg ls costs)")
        print("| change | PGs moving | TiB to copy | fullest after | median | best | CPU | target |")
        print("|---|---|---|---|---|---|---|---|")
        cases = {
            "osd.17 weight 0": [WeightChange(17, weight=0.0)],
            "host of 10 OSDs weight 0": [WeightChange(o, weight=0.0) for o in range(10, 20)],
        }
        for name, changes in cases.items():
            med, best, prediction = median(
                lambda c=changes: tool.predict(client, c, default_rate=RATE), runs)
            fullest = prediction.fullest(1)[0]
            print(f"| {name} | {prediction.pgs_moving} | {prediction.bytes_to_copy / 2**40:.2f} "
                  f"| osd.{fullest.osd} {fullest.ratio:.1%} -> {fullest.ratio_after:.1%} "
                  f"| {med:.2f} s | {best:.2f} s | {median.cpu:.2f} s "  # type: ignore[attr-defined]
                  f"| {'ok' if med < TARGET else 'OVER'} < {TARGET:g} s |")


def lab(conf: Path | None, runs: int) -> None:
    from cephflow.ceph.access import build_client, forget_clients
    from cephflow.runbook.compiler import compile_runbook
    from cephflow.settings import CephSettings, get_settings
    from cephflow.tasks import load_all

    cluster = None
    tmp = None
    if conf is None:
        from cephflow.lab.cluster import LabCluster

        tmp = tempfile.TemporaryDirectory(prefix="predict-bench-lab-")
        cluster = LabCluster(Path(tmp.name))
        cluster.start()
        conf = cluster.conf
    try:
        os.environ.update({"CEPHFLOW_CEPH__CONF": str(conf), "CEPHFLOW_LAB": "true",
                           "CEPHFLOW_CEPH__HOSTS_BACKEND": "lab",
                           "CEPHFLOW_CEPH__LAB_DIR": str(Path(conf).parent)})
        get_settings.cache_clear()
        forget_clients()
        load_all()
        change = [WeightChange(4, weight=0.0)]
        print("| lab (6 OSDs, 33 PGs) | backend | median | best |")
        print("|---|---|---|---|")
        for backend in ("cli", "librados"):
            client = build_client(CephSettings(conf=conf, backend=backend))
            med, best, p = median(lambda c=client: MovementTool().predict(
                c, change, default_rate=RATE), runs)
            print(f"| prediction alone (osd.4 weight 0: {p.pgs_moving} PGs) | {backend} "
                  f"| {med:.3f} s | {best:.3f} s |")
        med, best, _ = median(lambda: compile_runbook("reweight", {"osd": 4, "target": 0}), runs)
        print(f"| plan reweight --osd 4 --target 0 (every lookup, prediction included) | "
              f"{get_settings().ceph.backend} | {med:.3f} s | {best:.3f} s |")
    finally:
        forget_clients()
        if cluster is not None:
            cluster.stop()
            tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--conf", type=Path, help="ceph.conf of a running lab (else one is started)")
    parser.add_argument("--skip-lab", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"python {sys.version.split()[0]}")
    if not args.skip_synthetic:
        synthetic(args.runs)
    if not args.skip_lab:
        lab(args.conf, args.runs)


if __name__ == "__main__":
    main()
