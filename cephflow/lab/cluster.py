"""Start, stop and inspect the lab cluster from Python (``cephflow lab``, test fixtures).

The work is done by ``labctl.sh`` beside this module; this wrapper picks free ports, keeps
the lab under ``<state_dir>/lab/cluster`` and writes the state file that points cephflow's
settings at the lab while it runs.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cephflow.ceph.access import build_client
from cephflow.ceph.client import CephClient
from cephflow.errors import CephflowError
from cephflow.lab.state import LabState, clear_state, lab_root, read_state, write_state
from cephflow.settings import CephSettings

LABCTL = Path(__file__).resolve().parent / "labctl.sh"
PORT_SPAN = 200


class LabError(CephflowError):
    """Raised when the lab cluster cannot be started, stopped or reached."""


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_port_base(rng: random.Random | None = None) -> int:
    """A base port whose mon ports and a sample of the daemon range are free."""
    rng = rng or random.Random()
    for _ in range(50):
        base = rng.randrange(20000, 60000 - PORT_SPAN, 10)
        probe = [base, base + 1, *range(base + 10, base + PORT_SPAN, 17)]
        if all(_port_free(p) for p in probe):
            return base
    raise LabError("no free port range for the lab cluster")


@dataclass
class LabStatus:
    """What ``labctl.sh status`` said."""

    running: bool
    daemons: dict[str, str]
    code: int


class LabCluster:
    """A lab cluster living in ``directory``."""

    def __init__(self, directory: Path, *, port_base: int | None = None, pool: str = "labpool",
                 env: dict[str, str] | None = None):
        self.dir = Path(directory)
        self.port_base = port_base
        self.pool = pool
        self.env = env or {}

    @property
    def conf(self) -> Path:
        return self.dir / "ceph.conf"

    def _run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self.env, "LAB_POOL": self.pool}
        if self.port_base is not None:
            env["LAB_PORT_BASE"] = str(self.port_base)
        try:
            return subprocess.run(
                [str(LABCTL), args[0], str(self.dir), *args[1:]],
                capture_output=True, text=True, env=env, timeout=timeout, check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise LabError(f"labctl {args[0]} took longer than {timeout}s") from exc
        except OSError as exc:  # labctl.sh missing, not executable, or no /bin/sh
            raise LabError(f"labctl {args[0]}: cannot run {LABCTL}: {exc.strerror or exc}") from exc

    def start(self) -> LabState:
        """Bring up a fresh cluster (wipes any previous one in the same directory)."""
        if self.port_base is None:
            self.port_base = pick_port_base()
        self.dir.mkdir(parents=True, exist_ok=True)
        proc = self._run("start")
        if proc.returncode != 0:
            self._run("stop")
            raise LabError(f"the lab cluster did not start: {proc.stderr.strip()[-2000:]}")
        return LabState(self.dir, self.conf, self.port_base, self.pool, time.time())

    def stop(self) -> None:
        proc = self._run("stop")
        if proc.returncode != 0:
            raise LabError(f"labctl stop failed: {proc.stderr.strip()}")

    def status(self) -> LabStatus:
        proc = self._run("status", timeout=30)
        daemons = {}
        for line in proc.stdout.splitlines():
            parts = line.split()
            if parts:
                daemons[parts[0]] = parts[-1]
        return LabStatus(running=proc.returncode in (0, 1), daemons=daemons, code=proc.returncode)

    def labctl(self, *args: str, timeout: float = 120) -> str:
        proc = self._run(*args, timeout=timeout)
        if proc.returncode != 0:
            raise LabError(f"labctl {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout


def fail_disk(state_dir: Path, host: str, osd: int | None = None, *,
              timeout: float = 120.0) -> int:
    """Make a lab disk fail as a dead disk does: SIGKILL one OSD daemon of ``host`` (``osd``,
    or its first one up) and wait until Ceph marks it down and its PGs are active again (a
    plan made during the few seconds of peering would see PGs inactive). Returns its id."""
    state = read_state(state_dir)
    if state is None:
        raise LabError("no lab is up (cephflow lab up)")
    client = build_client(CephSettings(conf=state.conf, backend="cli"))
    tree = client.osd_tree()
    if host not in tree.hosts:
        raise LabError(f"the lab has no host {host!r} (hosts: {', '.join(sorted(tree.hosts))})")
    candidates = [o.id for o in tree.osds_of(host) if o.up and (osd is None or o.id == osd)]
    if not candidates:
        raise LabError(f"no running OSD {'osd.' + str(osd) if osd is not None else ''} "
                       f"on {host} to fail".replace("  ", " "))
    victim = candidates[0]
    LabCluster(state.dir, port_base=state.port_base, pool=state.pool).labctl("kill-osd", str(victim))
    deadline = time.monotonic() + timeout
    while not repeered_without(client, victim):
        if time.monotonic() > deadline:
            raise LabError(f"osd.{victim} was killed but Ceph did not mark it down and "
                           f"re-peer its PGs in {timeout:g}s")
        time.sleep(0.5)  # polling Ceph's view, not synchronising with a process of ours
    return victim


def repeered_without(client: CephClient, osd: int) -> bool:
    """``osd`` is down and its PGs have re-peered without it: what an operator sees settle.

    Every PG must be active, none peering, and none may still list ``osd`` in its acting set.
    The last part matters: PG stats lag the osdmap by a few seconds, so right after the OSD
    is marked down the PGs can still report ``active+clean`` from before, and only start
    peering a moment later (a plan made then sees PGs inactive). The health checks lag the
    PG stats in turn (the mgr's digest), so the peering must have left them too.
    """
    if client.osd_dump().osds[osd].up:
        return False
    if not all(p.state.startswith("active") and "peering" not in p.state
               and osd not in p.acting for p in client.pg_ls().pgs):
        return False
    return "PG_AVAILABILITY" not in client.health(detail=False).checks


def lab_dir(state_dir: Path) -> Path:
    return lab_root(state_dir) / "cluster"


def lab_up(state_dir: Path) -> LabState:
    """``cephflow lab up``: start the lab under the state dir and point settings at it."""
    existing = read_state(state_dir)
    if existing is not None:
        cluster = LabCluster(existing.dir, port_base=existing.port_base, pool=existing.pool)
        if cluster.status().code == 0:
            return existing
        cluster.stop()
    cluster = LabCluster(lab_dir(state_dir))
    state = cluster.start()
    write_state(state_dir, state)
    return state


def lab_down(state_dir: Path) -> bool:
    """``cephflow lab down``: stop the lab and forget it; False when none was up."""
    state = read_state(state_dir)
    directory = state.dir if state else lab_dir(state_dir)
    if not (directory / "run").exists():
        clear_state(state_dir)
        return False
    LabCluster(directory).stop()
    clear_state(state_dir)
    return state is not None
