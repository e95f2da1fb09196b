"""``cephflow lab up|status|down`` as an operator runs them, and the settings that follow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cephflow.lab.state import read_state

pytestmark = [pytest.mark.ceph, pytest.mark.slow]
CEPHFLOW = str(Path(sys.executable).with_name("cephflow"))


def test_lab_up_points_cephflow_at_it_and_down_stops_every_daemon(tmp_path, monkeypatch):
    state_dir = tmp_path / "state"
    env = dict(os.environ, CEPHFLOW_STATE_DIR=str(state_dir),
               CEPHFLOW_CONFIG=str(tmp_path / "none.toml"), COLUMNS="200", NO_COLOR="1")
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

        # a plan asks the lab which OSDs live on the host
        plan = cephflow("plan", "replace-disk", "--host", "lab-b")
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert "[osd.2]" in plan.stdout and "[osd.3]" in plan.stdout
        assert "target=0.00048828125" in plan.stdout
    finally:
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
