"""The lab demo: replace a failed disk of the lab cluster, start to end, with nobody at hand.

``start`` brings the lab up if needed, compiles ``replace-disk`` for the failed disk of a lab
host (or a given OSD), submits it and, with ``auto_approve``, plays the DC technicians: a
background thread confirms the disk swap once the gate waits. It needs the engine, so it
lives here and not in ``cephflow.lab`` (which is below the engine). What it does on the way
is reported through ``on_progress``, for the front end to show.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from cephflow import tasks
from cephflow.engine.state import NodeState
from cephflow.errors import ConfigError
from cephflow.lab import cluster
from cephflow.lab.state import read_state
from cephflow.operations import lab
from cephflow.operations.workflows import Submitted, connect, submit
from cephflow.runbook.compiler import compile_runbook
from cephflow.settings import get_settings

RUNBOOK = "replace-disk"
GATE = "disk-replaced"
"""The gate the DC technicians open once the new disk is in."""
APPROVER = "lab-demo"
"""Who the automatic confirmation is recorded as."""
APPROVE_TIMEOUT = 900.0
"""Seconds the automatic approver waits for the gate before it gives up."""
POLL = 0.5
"""Seconds between the approver's looks at the workflow."""


class DemoStage(StrEnum):
    """What the demo reports on its way."""

    LAB_STARTING = "lab-starting"
    """No lab was up: it is being started (takes a while)."""
    GATE_CONFIRMED = "gate-confirmed"
    """The automatic approver confirmed the disk swap."""


@dataclass(frozen=True)
class DemoProgress:
    stage: DemoStage
    gate: str | None = None
    """The gate confirmed (``GATE_CONFIRMED``)."""


Progress = Callable[[DemoProgress], None]


@dataclass(frozen=True)
class Demo:
    """The demo's workflow, submitted."""

    submitted: Submitted
    osds: list[str]
    """The OSDs whose disks are replaced (``osd.N``)."""
    approver: threading.Thread | None
    """The automatic approver, running in the background (a daemon thread), if asked for."""


def _not_a_lab() -> ConfigError:
    return ConfigError("--auto-approve is refused: the configured cluster is not a lab")


def demo_params(*, host: str, osd: int | None, downtime: bool, notify: bool,
                steps: int) -> dict[str, object]:
    """The params the demo gives ``RUNBOOK``: the failed disk of ``host`` (or ``osd``), a
    silence and a DC message where the lab has somewhere to send them, ``steps`` weight steps."""
    target: dict[str, object] = {"osd": osd} if osd is not None else {"host": host}
    return {**target, "downtime": downtime, "notify": notify, "weight_steps": steps}


def start(*, host: str = "lab-b", osd: int | None = None, auto_approve: bool = True,
          steps: int = 4, on_progress: Progress = lambda _: None) -> Demo:
    """Bring the lab up if needed and submit ``replace-disk`` on it.

    Args:
        host: the lab host whose failed disk is replaced.
        osd: replace this OSD's disk instead (failed or not).
        auto_approve: confirm the disk swap automatically; refused (ConfigError) when the
            configured cluster is not a lab.
        steps: steps of the gentle drain and weight-up.
        on_progress: told of each stage (from the approver's thread too).
    """
    settings = get_settings()
    if auto_approve and settings.ceph.conf is not None and not settings.lab:
        raise _not_a_lab()
    if read_state(settings.state_dir) is None:
        on_progress(DemoProgress(DemoStage.LAB_STARTING))
        cluster.lab_up(settings.state_dir)
        lab.restart_worker(settings)
    get_settings.cache_clear()  # the lab's state file now points the settings at the lab
    settings = get_settings()
    if auto_approve and not settings.lab:
        raise _not_a_lab()
    tasks.load_all()
    monitoring = bool(settings.alertmanager.urls or settings.http_downtime.set_url)
    messaging = bool(settings.smtp.host or settings.webhook.url)
    dag = compile_runbook(RUNBOOK, demo_params(host=host, osd=osd, downtime=monitoring,
                                               notify=messaging, steps=steps))
    submitted = submit(dag)
    approver = None
    if auto_approve:
        approver = threading.Thread(
            target=confirm_when_asked, args=(submitted.workflow_id, GATE),
            kwargs={"timeout": APPROVE_TIMEOUT, "on_progress": on_progress}, daemon=True)
        approver.start()
    return Demo(submitted, [o["name"] for o in dag.discovered["osds"]], approver)


def confirm_when_asked(workflow_id: str, gate: str, *, timeout: float,
                       on_progress: Progress = lambda _: None) -> bool:
    """Play the DC technicians: approve ``gate`` once it waits (lab only).

    Returns whether it approved: False when the workflow ended first or ``timeout`` passed.
    """
    client = connect(services=False)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snap = client.snapshot(workflow_id)
            if snap.state.terminal:
                return False
            node = snap.nodes.get(gate)
            if node is not None and node.attempt >= 1 and node.state is NodeState.RUNNING:
                on_progress(DemoProgress(DemoStage.GATE_CONFIRMED, gate))
                client.approve(workflow_id, gate, user=APPROVER)
                return True
            time.sleep(POLL)  # looking at the workflow now and then, as a technician would
        return False
    finally:
        client.close()
