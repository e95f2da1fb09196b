"""The lab cluster: bring it up, take it down, look at it, and make one of its disks fail.

The lab's state file points every command and worker at the lab while it is up, so bringing
it up or down restarts the embedded worker: a running one read its settings before the lab
came or went. (The lab itself, below the engine, knows nothing of workers.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from cephflow.ceph.access import client_for
from cephflow.engine import embedded
from cephflow.lab import cluster
from cephflow.lab.state import LabState, read_state
from cephflow.settings import Settings, get_settings

WORKER_STOP_TIMEOUT = 30.0
"""Seconds a worker may take to finish its current steps before it is killed."""


@dataclass(frozen=True)
class LabUp:
    """The lab, up."""

    state: LabState
    seconds: float
    """How long bringing it up took (0 when it was up already, give or take a status check)."""


@dataclass(frozen=True)
class LabReport:
    """The lab's daemons and, when they run, Ceph's health."""

    daemons: dict[str, str]
    """Daemon name -> what ``labctl.sh status`` says of it."""
    code: int
    """0 all running, 1 some stopped, 3 none (``labctl.sh status``'s exit status)."""
    health: str | None
    """Ceph's health summary; None when the lab is down."""


def restart_worker(settings: Settings) -> None:
    """Stop the embedded worker if it runs; the next ``cephflow run`` starts a fresh one."""
    embedded.stop_worker(settings, timeout=WORKER_STOP_TIMEOUT)


def up() -> LabUp:
    """Start the lab cluster (or find it up); cephflow then talks to it until ``down``."""
    settings = get_settings()
    started = time.monotonic()
    state = cluster.lab_up(settings.state_dir)
    restart_worker(settings)
    return LabUp(state, time.monotonic() - started)


def down() -> bool:
    """Stop the lab and point cephflow back at the configured cluster; False if none was up."""
    settings = get_settings()
    stopped = cluster.lab_down(settings.state_dir)
    restart_worker(settings)
    return stopped


def status() -> LabReport | None:
    """The lab's daemons and Ceph's health; None when no lab is up."""
    settings = get_settings()
    state = read_state(settings.state_dir)
    if state is None:
        return None
    st = cluster.LabCluster(state.dir, port_base=state.port_base).status()
    if st.code == 3:
        return LabReport(st.daemons, st.code, None)
    return LabReport(st.daemons, st.code, client_for(settings).health().summary())


def fail_disk(host: str, osd: int | None = None) -> int:
    """Kill one OSD daemon of lab ``host`` as a dead disk would; returns the OSD's id."""
    return cluster.fail_disk(get_settings().state_dir, host, osd)
