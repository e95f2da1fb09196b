"""Predict a weight change's movement with Ceph's own ``osdmaptool`` on a copy of the map.

Reads, in this order, from the cluster: the binary OSD map (``osd getmap``, through either
backend), ``osd dump`` (ratios, pools, EC profiles), ``pg ls`` (bytes per PG), ``osd df``
(used bytes per OSD) and ``status`` (the recovery rate now). Then, on this machine, in a
private temporary directory removed afterwards, ``osdmaptool --clear-temp
--test-map-pgs-dump`` maps every PG (its up set) with the map as it is and with the changes
applied (``--adjust-crush-weight``,
``--mark-out``); nothing is written to the cluster. ``cephflow.ceph.movement`` does the
arithmetic.

``osdmaptool`` honours one ``--mark-out`` per run: a change that marks several OSDs out is
predicted as their CRUSH weight going to 0 (the same PGs leave them; where the others land
may differ a little), and the prediction says so (``approximate``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cephflow.ceph.client import CephClient
from cephflow.ceph.command import cmd
from cephflow.ceph.command_runner import CommandRunner, LocalRunner
from cephflow.ceph.movement import (
    Prediction,
    Usage,
    WeightChange,
    parse_up_sets,
    pg_bytes_from_text,
    predict,
)
from cephflow.errors import CephError

OSDMAPTOOL = "osdmaptool"


def osdmaptool_args(changes: Sequence[WeightChange]) -> tuple[list[str], str | None]:
    """The ``osdmaptool`` options that apply ``changes`` to a map, and why the prediction is
    approximate (None: exact)."""
    outs = [c.osd for c in changes if c.out]
    weights = {c.osd: c.weight for c in changes if c.weight is not None}
    approximate = None
    args: list[str] = []
    if len(outs) == 1:
        args += ["--mark-out", str(outs[0])]
    elif outs:
        approximate = (f"{len(outs)} OSDs marked out: predicted as their CRUSH weight going "
                       "to 0 (osdmaptool marks one OSD out per run)")
        weights.update({o: 0.0 for o in outs})
    if weights:
        args += ["--adjust-crush-weight",
                 ",".join(f"{o}:{w:.8g}" for o, w in sorted(weights.items()))]
    return args, approximate


def ec_divisors(dump: dict[str, Any]) -> dict[int, int]:
    """Pool id -> k for every erasure-coded pool of a raw ``osd dump``."""
    profiles = dump.get("erasure_code_profiles") or {}
    found = {}
    for pool in dump.get("pools") or ():
        if int(pool.get("type", 1)) == 3:  # pg_pool_t::TYPE_ERASURE
            profile = profiles.get(pool.get("erasure_code_profile") or "", {})
            found[int(pool["pool"])] = int(profile.get("k", 1) or 1)
    return found


def recovery_rate(status: dict[str, Any]) -> float:
    """Bytes per second the cluster recovers now (0: nothing recovering)."""
    return float((status.get("pgmap") or {}).get("recovering_bytes_per_sec", 0) or 0)


class MovementTool:
    """Runs ``osdmaptool`` on a private copy of a cluster's map."""

    def __init__(self, *, binary: str = OSDMAPTOOL, runner: CommandRunner | None = None,
                 timeout: float = 120.0, map_args: Sequence[str] = ()):
        self.binary = binary
        self.runner = runner or LocalRunner(timeout=timeout)
        self.timeout = timeout
        self.map_args = list(map_args)
        """Options given to both runs (the benchmark's synthetic map: ``--mark-up-in``)."""

    def up_sets(self, osdmap: bytes, changes: Sequence[WeightChange] = ()
                ) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]], str | None]:
        """(up sets now, up sets after ``changes``, why approximate) of the map ``osdmap``."""
        args, approximate = osdmaptool_args(changes)
        workdir = tempfile.mkdtemp(prefix="cephflow-osdmap-")  # mode 0700: private
        try:
            path = Path(workdir) / "osdmap"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(osdmap)
            if not args:
                before = self._dump(path, [])
                return before, dict(before), approximate
            # both runs at once: each is one process (~1.5 s for 100,000 PGs on one core)
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="cephflow-osdmaptool") as pool:
                now, then = pool.submit(self._dump, path, []), pool.submit(self._dump, path, args)
                before, after = now.result(), then.result()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return before, after, approximate

    def _dump(self, path: Path, args: list[str]) -> dict[str, tuple[int, ...]]:
        argv = [self.binary, str(path), *self.map_args, *args, "--clear-temp",
                "--test-map-pgs-dump"]
        result = self.runner.run(argv, timeout=self.timeout)
        if result.status != 0:
            raise CephError(f"{' '.join(argv)} exited {result.status}: "
                            f"{(result.stderr or result.stdout).strip()[:300]}")
        found = parse_up_sets(result.stdout)
        if not found and "pg_num" in result.stdout:
            raise CephError(f"{self.binary}: no PG mapping understood in its answer: "
                            f"{result.stdout.strip()[:200]}")
        return found

    @staticmethod
    def pg_bytes(client: CephClient) -> dict[str, int]:
        """pgid -> bytes, from ``pg ls``'s text where it has the usual shape (fast at
        100,000 PGs), else from the parsed answer."""
        text = getattr(client, "pg_ls_text", None)
        if text is not None:
            found = pg_bytes_from_text(text())
            if found is not None:
                return found
        return {p.pgid: p.bytes for p in client.pg_ls().pgs}

    def predict(self, client: CephClient, changes: Iterable[WeightChange], *,
                default_rate: float) -> Prediction:
        """The movement ``changes`` would cause on the cluster ``client`` reaches."""
        changes = tuple(changes)
        osdmap = client.osdmap_bytes()
        # osdmaptool maps while the other answers are read (~1.5 s each at 100,000 PGs)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cephflow-mapping") as pool:
            mapped = pool.submit(self.up_sets, osdmap, changes)
            dump = client.query(cmd("osd dump"))
            pg_bytes = self.pg_bytes(client)
            usage = client.osd_df()
            rate = recovery_rate(client.query(cmd("status")))
            before, after, approximate = mapped.result()
        prediction = predict(
            changes, before, after,
            pg_bytes=pg_bytes,
            usage={i: Usage(size=u.kb * 1024, used=u.kb_used * 1024) for i, u in usage.items()},
            nearfull_ratio=float(dump.get("nearfull_ratio", 0.85)),
            backfillfull_ratio=float(dump.get("backfillfull_ratio", 0.90)),
            rate=rate if rate > 0 else float(default_rate),
            rate_source="recovery" if rate > 0 else "default",
            divisors=ec_divisors(dump),
            epoch=int(dump.get("epoch", 0)),
        )
        if approximate:
            prediction.extra["approximate"] = approximate
        return prediction
