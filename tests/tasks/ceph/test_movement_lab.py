"""The movement prediction against what the lab's real Ceph then does.

For a reweight (half weight), a drain (weight 0, what drain-host does to each OSD) and an out
(what replace-disk does to a dead disk): predict with ``osdmaptool`` on a copy of the map,
make the change for real, wait until Ceph is clean, and compare the PGs whose up set changed
(``pg ls`` before/after) and every OSD's used bytes (``osd df``) with the prediction. The
figures are printed (``pytest -s``) and quoted in docs/benchmarks.md. Then a lowered
``backfillfull_ratio`` refuses the plan; the ratio is set back whatever happens.

Each test leaves the lab as it found it: weights, in/out, ratios, no objects of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from cephflow.ceph.command import cmd
from cephflow.ceph.movement import WeightChange
from cephflow.ceph.movement_tools import MovementTool
from cephflow.errors import RunbookError, UnsafeOperation
from cephflow.runbook.compiler import compile_runbook
from cephflow.tasks import load_all
from cephflow.tasks.ceph import wait as ceph_wait
from tests.paths import CEPHFLOW, REPO
from tests.tasks.ceph.support import FULL, Runner

pytestmark = [pytest.mark.ceph, pytest.mark.usefixtures("lab_settings")]

OBJECTS = 300
OBJECT_SIZE = 64 * 1024
"""~19 MiB in the pool (×3 copies): enough for ``osd df`` to show what a move shifts."""


def wait_clean(ceph_lab, what: str) -> None:
    Runner(ceph_lab.settings(), workflow=f"movement-{what}-{time.monotonic_ns()}").poll(
        ceph_wait.wait_healthy, "healthy", timeout=120)


def wait_usage(client, timeout: float = 90.0, *, at_least: int = OBJECTS * OBJECT_SIZE):
    """``osd df`` once it has caught up with the PG stats: memstore holds what its PGs hold
    (+ ~60 KiB of its own), so every OSD's used bytes match the bytes of the PGs in its up
    sets within 1 MiB, once the PG stats show the test's objects (``at_least`` bytes). Both
    lag a write or a move by a report interval."""
    deadline = time.monotonic() + timeout
    while True:
        pgs, usage = client.pg_ls(), client.osd_df()
        held: dict[int, int] = {}
        for pg in pgs.pgs:
            for osd in pg.up:
                held[osd] = held.get(osd, 0) + pg.bytes
        off = {i: u.kb_used * 1024 - held.get(i, 0) for i, u in usage.items()}
        stored = sum(pg.bytes for pg in pgs.pgs)
        if stored >= at_least and all(abs(v) <= 2**20 for v in off.values()):
            return usage
        if time.monotonic() > deadline:
            raise AssertionError(f"osd df did not catch up with pg ls in {timeout}s: "
                                 f"{stored} bytes in PGs, used - held {off}")
        time.sleep(0.5)  # poll interval, not a synchronisation: the condition decides


def up_sets(client) -> dict[str, tuple[int, ...]]:
    return {p.pgid: p.up for p in client.pg_ls().pgs}


@pytest.fixture(scope="module")
def data(ceph_lab):
    """Objects that make the moves measurable; removed at the end."""
    import rados

    names = list(ceph_lab.write_objects("movement", OBJECTS, size=OBJECT_SIZE))
    wait_clean(ceph_lab, "written")
    wait_usage(ceph_lab.client())
    yield names
    with rados.Rados(conffile=str(ceph_lab.conf)) as cluster, cluster.open_ioctx(ceph_lab.pool) as io:
        for name in names:
            io.remove_object(name)


CASES = {
    "reweight": (2, WeightChange(2, weight=FULL / 2)),
    "drain": (4, WeightChange(4, weight=0.0)),
    "out": (1, WeightChange(1, out=True)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_predicted_pgs_and_fullness_match_what_ceph_does(case, ceph_lab, data):
    osd, change = CASES[case]
    client = ceph_lab.client()
    wait_clean(ceph_lab, f"{case}-before")
    wait_usage(client)
    started = time.monotonic()
    predicted = MovementTool().predict(client, [change], default_rate=100 * 2**20)
    took = time.monotonic() - started
    before = up_sets(client)
    try:
        if change.out:
            client.mark_out(osd)
        else:
            client.crush_reweight(f"osd.{osd}", change.weight)
        wait_clean(ceph_lab, f"{case}-after")
        after = up_sets(client)
        usage = wait_usage(client)
    finally:
        if change.out:
            client.mark_in(osd)
        else:
            client.crush_reweight(f"osd.{osd}", FULL)
        wait_clean(ceph_lab, f"{case}-restored")
    actual = {pg for pg, up in before.items() if after.get(pg) != up}
    guessed = {m.pgid for m in predicted.moves}
    errors = {i: (predicted.fill[i].used_after - u.kb_used * 1024) for i, u in usage.items()}
    moved = {i: abs(predicted.fill[i].used_after - predicted.fill[i].used) for i in usage}
    print(f"\nmovement {case} osd.{osd}: predicted {len(guessed)} PGs, Ceph remapped "
          f"{len(actual)}, same PGs {len(guessed & actual)}; {predicted.bytes_to_copy} bytes "
          f"to copy; prediction took {took:.2f} s; used bytes after, predicted - osd df: "
          + ", ".join(f"osd.{i} {e / 1024:+.0f} KiB (moved {moved[i] / 1024:.0f} KiB)"
                      for i, e in sorted(errors.items())))
    assert actual, "the change moved nothing: the test proves nothing"
    assert abs(len(guessed) - len(actual)) <= 0.1 * len(actual)
    assert len(guessed & actual) >= 0.9 * len(actual)
    # fullness after: every OSD within 10 % of what it holds (or 1 MiB for a near-empty one)
    for i, u in usage.items():
        real = u.kb_used * 1024
        assert abs(predicted.fill[i].used_after - real) <= max(0.1 * real, 2**20), (i, errors)


def test_the_plan_json_carries_the_prediction(ceph_lab, data):
    load_all()
    client = ceph_lab.client()
    dag = compile_runbook("reweight", {"osd": 4, "target": 0})
    answer = dag.discovered["movement"]
    predicted = MovementTool().predict(client, [WeightChange(4, weight=0.0)],
                                       default_rate=100 * 2**20)
    assert answer["kind"] == "movement" and answer["changes"] == [{"osd": 4, "weight": 0.0, "out": False}]
    assert answer["pgs_moving"] == predicted.pgs_moving > 0
    assert answer["bytes_to_copy"] == predicted.bytes_to_copy > 0
    assert answer["backfillfull_ratio"] == pytest.approx(client.osd_dump().backfillfull_ratio)
    assert answer["fullest_after"][0]["osd"] in client.osd_dump().osds
    # the map read through the ceph CLI (bytes on stdout) predicts the same as through librados
    from cephflow.ceph.access import build_client

    cli = build_client(ceph_lab.settings(ceph={"backend": "cli"}).ceph)
    assert type(cli.reader).__name__ == "CliBackend" and type(client.reader).__name__ == "RadosBackend"
    assert cli.osdmap_bytes() == client.osdmap_bytes()
    again = MovementTool().predict(cli, [WeightChange(4, weight=0.0)], default_rate=100 * 2**20)
    assert {m.pgid for m in again.moves} == {m.pgid for m in predicted.moves}


def test_a_plan_past_a_lowered_backfillfull_is_refused_and_nothing_changes(ceph_lab, data):
    load_all()
    client = ceph_lab.client()
    wait_clean(ceph_lab, "backfillfull-before")  # the last test's move back has settled
    wait_usage(client)
    predicted = MovementTool().predict(client, [WeightChange(4, weight=0.0)],
                                       default_rate=100 * 2**20)
    receiver = predicted.fullest(1)[0]
    assert receiver.used_after > receiver.used
    dump = client.query(cmd("osd dump"))
    ratio = str(dump["backfillfull_ratio"])
    # a quarter of the way from now to after the move: the lookup's own reading of `osd df`
    # may differ from this one by what a report interval adds (up to ~1 MiB of 512 MiB)
    lowered = receiver.ratio + (receiver.ratio_after - receiver.ratio) / 4
    client.change(cmd("osd set-backfillfull-ratio", f"{lowered:.6f}", ratio=lowered,
                      readonly=False, json_output=False))
    try:
        # the lookup itself: refused, with or without --force, naming the OSD and the ratio
        from cephflow.runbook.catalog import LOOKUPS

        for force in (False, True):
            with pytest.raises(UnsafeOperation, match=rf"osd\.{receiver.osd} .*past backfillfull_ratio"):
                LOOKUPS["ceph.movement"].fn(osds=[4], target=0.0, force=force)
        with pytest.raises(RunbookError, match="backfillfull"):
            compile_runbook("reweight", {"osd": 4, "target": 0, "force": True})
        # the CLI: exit non-zero, the reason said, nothing submitted (no Redis is even named)
        env = dict(os.environ, **ceph_lab.env(), COLUMNS="200", NO_COLOR="1")
        done = subprocess.run([CEPHFLOW, "run", "reweight", "--osd", "4", "--target", "0",
                               "--force", "--detach"], env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode != 0, done.stdout
        assert "backfillfull" in done.stderr and "Traceback" not in done.stderr
    finally:
        client.change(cmd("osd set-backfillfull-ratio", ratio, ratio=float(ratio),
                          readonly=False, json_output=False))
    restored = client.query(cmd("osd dump"))
    assert restored["backfillfull_ratio"] == pytest.approx(float(ratio))
    tree = client.osd_tree()
    assert tree.osds[4].crush_weight == pytest.approx(FULL)  # the refused plan changed nothing
    json.dumps(predicted.to_json())
