"""The README's order: a user's lab left up by ``make demo`` survives ``make test``.

A fake user's HOME holds a running lab and its state file, exactly where ``cephflow lab up``
puts them. A worker started with that HOME (and no state dir of its own, as the suite's
session workers once were) is pointed at the test lab explicitly and runs a workflow that
stops and restarts a test-lab OSD. Afterwards the test lab's daemon was restarted, and the
user's lab has not changed at all: same OSD processes, same OSD map epoch, same weights.
A worker whose settings name two clusters refuses to start.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cephflow.ceph.access import build_client
from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import WorkflowState
from cephflow.lab.cluster import LabCluster, lab_down, lab_up
from cephflow.runbook.compiler import compile_runbook
from cephflow.settings import CephSettings, Settings, get_settings
from cephflow.tasks import load_all
from tests.fixtures.celery_worker import ROOT, CeleryWorker
from tests.fixtures.services import require_binary

pytestmark = [pytest.mark.ceph, pytest.mark.services, pytest.mark.slow]

NAMESPACE = "cfuserlab"
RUNBOOK = """\
name: bounce-osd
params:
  osd: {type: int}
steps:
  - id: stop
    task: ceph.stop_osd
    with: {osd: "{{ osd }}"}
  - id: start
    task: ceph.start_osd
    after: stop
    with: {osd: "{{ osd }}"}
  - id: healthy
    task: ceph.wait_healthy
    after: start
"""


def _daemon_pids(lab_dir: Path) -> dict[str, str]:
    return {p.name: p.read_text().strip() for p in sorted((lab_dir / "run").glob("osd.*.pid"))}


def _picture(lab_dir: Path) -> dict:
    """Everything a stray host operation or command would change in a lab."""
    client = build_client(CephSettings(conf=lab_dir / "ceph.conf", backend="cli"))
    dump = client.osd_dump()
    tree = client.osd_tree()
    return {
        "pids": _daemon_pids(lab_dir),
        "epoch": dump.epoch,
        "up": {i: s.up for i, s in dump.osds.items()},
        "weights": {i: o.crush_weight for i, o in tree.osds.items()},
    }


@pytest.fixture(scope="module")
def user_home(tmp_path_factory) -> Iterator[Path]:
    """A fake user's HOME with a lab up, as ``make demo`` leaves it."""
    for binary in ("ceph-mon", "ceph-osd", "ceph-mgr", "ceph", "uuidgen"):
        require_binary(binary)
    home = tmp_path_factory.mktemp("user-home")
    state_dir = home / ".local" / "state" / "cephflow"
    lab_up(state_dir)
    try:
        yield home
    finally:
        lab_down(state_dir)


def test_a_test_lab_workflow_leaves_the_users_lab_alone(user_home, ceph_lab, redis_server,
                                                        tmp_path, monkeypatch):
    from cephflow.lab.state import read_state

    user_lab = read_state(user_home / ".local" / "state" / "cephflow")
    assert user_lab is not None
    before = _picture(user_lab.dir)
    test_pids = _daemon_pids(ceph_lab.dir)

    worker = CeleryWorker(redis_server.url, tmp_path, namespace=NAMESPACE, name="userlab")
    for name in ("CEPHFLOW_STATE_DIR", "CEPHFLOW_CONFIG", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        worker.env.pop(name, None)
    worker.env["HOME"] = str(user_home)  # the user's lab.json is where the default looks
    worker.env.update(ceph_lab.env())
    redis_server.flush_namespace(NAMESPACE)
    client = WorkflowClient(Settings(redis_url=redis_server.url, namespace=NAMESPACE))
    worker.start()
    try:
        for key, value in ceph_lab.env().items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        load_all()
        path = tmp_path / "bounce-osd.yaml"
        path.write_text(RUNBOOK)
        wf = client.submit(compile_runbook(path, {"osd": 0}), user="test")
        assert client.wait(wf, timeout=180) is WorkflowState.SUCCEEDED, client.snapshot(wf).error
    finally:
        worker.stop()
        client.close()
        redis_server.flush_namespace(NAMESPACE)

    assert _daemon_pids(ceph_lab.dir)["osd.0.pid"] != test_pids["osd.0.pid"]  # the test lab's
    assert _picture(user_lab.dir) == before  # the user's lab: not one change


def test_a_worker_naming_two_clusters_refuses_to_start(user_home, ceph_lab, tmp_path):
    from cephflow.lab.state import read_state

    user_lab = read_state(user_home / ".local" / "state" / "cephflow")
    env = dict(os.environ, CEPHFLOW_CEPH__CONF=str(ceph_lab.conf),
               CEPHFLOW_CEPH__LAB_DIR=str(user_lab.dir), CEPHFLOW_CEPH__HOSTS_BACKEND="lab",
               CEPHFLOW_REDIS_URL=f"unix://{tmp_path / 'none.sock'}")
    proc = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "cephflow.engine.app", "worker", "--pool", "solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )
    assert proc.returncode != 0
    assert "refuses to start" in proc.stdout + proc.stderr
    assert "host operations to the lab cluster" in proc.stdout + proc.stderr


def test_the_user_lab_fixture_is_a_real_second_cluster(user_home, ceph_lab):
    from cephflow.lab.state import read_state

    user_lab = read_state(user_home / ".local" / "state" / "cephflow")
    assert LabCluster(user_lab.dir).status().code == 0
    assert user_lab.dir != ceph_lab.dir
