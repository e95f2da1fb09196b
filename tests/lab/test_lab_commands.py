"""``cephflow lab up|status|down`` as an operator runs them, and the settings that follow."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cephflow.lab.state import read_state
from tests.paths import CEPHFLOW

pytestmark = [pytest.mark.ceph, pytest.mark.slow]


def test_lab_up_points_cephflow_at_it_and_down_stops_every_daemon(tmp_path, monkeypatch):
    state_dir = tmp_path / "state"
    env = dict(os.environ, CEPHFLOW_STATE_DIR=str(state_dir),
               CEPHFLOW_CONFIG=os.devnull, COLUMNS="200", NO_COLOR="1")
    for key in list(env):
        if key.startswith("CEPHFLOW_CEPH__") or key == "CEPHFLOW_LAB":
            del env[key]

    def cephflow(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CEPHFLOW, *argv], env=env, capture_output=True, text=True,
                              timeout=timeout)

    up = cephflow("lab", "up", timeout=180)
    try:
        assert up.returncode == 0, up.stderr
        state = read_state(state_dir)
        assert state is not None and state.conf.exists()
        assert "lab cluster up" in up.stdout

        # the settings now point at the lab
        from cephflow.settings import Settings

        monkeypatch.setenv("CEPHFLOW_STATE_DIR", str(state_dir))
        settings = Settings()
        assert settings.lab is True and settings.ceph.conf == state.conf
        assert settings.ceph.hosts_backend == "lab"

        status = cephflow("lab", "status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert "mon.a" in status.stdout and "osd.5" in status.stdout
        assert "health: HEALTH_OK" in status.stdout

        # a healthy host has no failed disk: the plan says so and what it checked
        healthy = cephflow("plan", "replace-disk", "--host", "lab-b")
        assert healthy.returncode == 2 and "no failed disk on lab-b" in healthy.stderr

        # the README's demo: a disk of lab-b dies, the plan finds it (and only it) ...
        failed = cephflow("lab", "fail-disk", "--host", "lab-b", "--osd", "3", timeout=180)
        assert failed.returncode == 0, failed.stderr
        assert "osd.3 on lab-b is dead" in failed.stdout
        plan = cephflow("plan", "replace-disk", "--host", "lab-b")
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert "[osd.3]" in plan.stdout and "[osd.2]" not in plan.stdout
        assert "target=0.00048828125" in plan.stdout

        # ... and replace-disk --host lab-b replaces it, the swap confirmed by the demo itself
        demo = cephflow("lab", "demo", "--host", "lab-b", "--steps", "2", timeout=300)
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr
        assert "confirming disk-replaced as the DC technicians would" in demo.stdout
        assert "succeeded" in demo.stdout.splitlines()[-1]
        from cephflow.ceph.access import build_client

        client = build_client(settings.ceph)
        dump = client.osd_dump()
        assert dump.osds[3].up and not dump.osds[3].destroyed and client.health().ok
    finally:
        cephflow("services", "stop")
        down = cephflow("lab", "down", timeout=120)
    assert down.returncode == 0, down.stderr
    assert "lab cluster stopped" in down.stdout
    assert read_state(state_dir) is None
    run_dir = state.dir / "run"
    assert not list(run_dir.glob("*.pid"))
    leftovers = subprocess.run(["pgrep", "-f", str(state.conf)], capture_output=True, text=True)
    alive = [pid for pid in leftovers.stdout.split()
             if Path(f"/proc/{pid}/stat").exists()
             and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"]
    assert alive == []
    from cephflow.settings import Settings

    assert Settings().lab is False
    # down again: nothing to do, still fine
    again = cephflow("lab", "down")
    assert again.returncode == 0 and "no lab cluster was up" in again.stdout


def test_auto_approve_is_refused_on_a_cluster_that_is_not_a_lab(tmp_path):
    env = dict(os.environ, CEPHFLOW_STATE_DIR=str(tmp_path / "state"),
               CEPHFLOW_CONFIG=os.devnull,
               CEPHFLOW_CEPH__CONF="/etc/ceph/production.conf")
    env.pop("CEPHFLOW_LAB", None)
    done = subprocess.run([CEPHFLOW, "lab", "demo", "--auto-approve"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--auto-approve is refused: the configured cluster is not a lab" in done.stderr
    assert not (tmp_path / "state" / "lab").exists()  # nothing was started
