"""A lab state file never changes an explicit setting, and one workflow acts on one cluster.

The lab state file (``<state_dir>/lab/lab.json``, written by ``cephflow lab up``) fills only
the cluster settings nothing explicit gave; when an explicit setting names another cluster it
is ignored whole. ``check_one_cluster`` refuses a configuration whose Ceph commands and host
operations reach two clusters (compared by fsid).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from cephflow.ceph.identity import check_one_cluster, conf_fsid
from cephflow.errors import ClusterMismatch
from cephflow.lab.state import LabState, write_state
from cephflow.settings import CephSettings, Settings, get_settings


def _cluster_dir(root: Path, name: str) -> tuple[Path, str]:
    directory = root / name
    directory.mkdir(parents=True)
    fsid = str(uuid.uuid4())
    (directory / "ceph.conf").write_text(
        f"[global]\nfsid = {fsid}\nmon host = 127.0.0.1:1\n\n[osd.0]\nfsid = {uuid.uuid4()}\n"
    )
    return directory, fsid


@pytest.fixture
def user_lab(tmp_path, monkeypatch):
    """A state dir holding a running lab's state file, as ``make demo`` leaves it."""
    state_dir = tmp_path / "state"
    directory, fsid = _cluster_dir(tmp_path, "user-lab")
    write_state(state_dir, LabState(directory, directory / "ceph.conf", 20000, "labpool", 0.0))
    monkeypatch.setenv("CEPHFLOW_STATE_DIR", str(state_dir))
    get_settings.cache_clear()
    return directory


def test_nothing_explicit_points_everything_at_the_lab(user_lab):
    settings = Settings()
    assert settings.ceph.conf == user_lab / "ceph.conf"
    assert settings.ceph.lab_dir == user_lab
    assert settings.ceph.hosts_backend == "lab" and settings.lab


def test_an_explicit_lab_dir_is_never_replaced_by_the_state_file(user_lab, tmp_path, monkeypatch):
    other, _ = _cluster_dir(tmp_path, "test-lab")
    monkeypatch.setenv("CEPHFLOW_CEPH__CONF", str(other / "ceph.conf"))
    monkeypatch.setenv("CEPHFLOW_CEPH__LAB_DIR", str(other))
    monkeypatch.setenv("CEPHFLOW_CEPH__HOSTS_BACKEND", "lab")
    settings = Settings()
    assert settings.ceph.lab_dir == other
    assert settings.ceph.conf == other / "ceph.conf"


def test_an_explicit_lab_dir_alone_keeps_its_cluster_whole(user_lab, tmp_path, monkeypatch):
    other, _ = _cluster_dir(tmp_path, "test-lab")
    monkeypatch.setenv("CEPHFLOW_CEPH__LAB_DIR", str(other))
    settings = Settings()
    assert settings.ceph.lab_dir == other
    assert settings.ceph.conf is None  # not the user's lab: that would be two clusters
    assert not settings.lab


@pytest.mark.parametrize("env, value", [
    ("CEPHFLOW_CEPH__HOSTS_BACKEND", "ssh"),
    ("CEPHFLOW_CEPH__SSH_HOST", "admin-1"),
])
def test_another_explicit_cluster_setting_ignores_the_state_file(user_lab, monkeypatch, env, value):
    monkeypatch.setenv(env, value)
    settings = Settings()
    assert settings.ceph.conf is None and settings.ceph.lab_dir is None
    assert settings.ceph.hosts_backend == "ssh"
    assert not settings.lab


def test_an_explicit_conf_in_the_config_file_wins(user_lab, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(f'[ceph]\nconf = "{tmp_path / "prod.conf"}"\n')
    monkeypatch.setenv("CEPHFLOW_CONFIG", str(config))
    settings = Settings()
    assert settings.ceph.conf == tmp_path / "prod.conf"
    assert settings.ceph.hosts_backend == "ssh" and settings.ceph.lab_dir is None


def test_the_callers_settings_win(user_lab, tmp_path):
    other, _ = _cluster_dir(tmp_path, "test-lab")
    settings = Settings(ceph=CephSettings(conf=other / "ceph.conf", lab_dir=other,
                                          hosts_backend="lab"), lab=False)
    assert settings.ceph.lab_dir == other and settings.lab is False


def test_explicit_settings_naming_the_lab_itself_still_get_the_rest(user_lab, monkeypatch):
    monkeypatch.setenv("CEPHFLOW_CEPH__CONF", str(user_lab / "ceph.conf"))
    settings = Settings()
    assert settings.ceph.lab_dir == user_lab and settings.ceph.hosts_backend == "lab"


def test_conf_fsid_reads_the_global_section_only(tmp_path):
    directory, fsid = _cluster_dir(tmp_path, "c")
    assert conf_fsid(directory / "ceph.conf") == fsid
    assert conf_fsid(tmp_path / "missing.conf") is None


def test_commands_and_host_operations_on_two_clusters_are_refused(tmp_path):
    lab, lab_fsid = _cluster_dir(tmp_path, "lab")
    other, other_fsid = _cluster_dir(tmp_path, "other")
    with pytest.raises(ClusterMismatch) as caught:
        check_one_cluster(CephSettings(conf=other / "ceph.conf", lab_dir=lab, hosts_backend="lab"))
    assert lab_fsid in str(caught.value) and other_fsid in str(caught.value)
    check_one_cluster(CephSettings(conf=lab / "ceph.conf", lab_dir=lab, hosts_backend="lab"))
    check_one_cluster(CephSettings(conf=other / "ceph.conf", lab_dir=lab, hosts_backend="ssh"))
    with pytest.raises(ClusterMismatch, match="ssh_host"):
        check_one_cluster(CephSettings(ssh_host="admin-1", lab_dir=lab, hosts_backend="lab"))


def test_run_refuses_two_clusters_before_submitting(tmp_path):
    lab, _ = _cluster_dir(tmp_path, "lab")
    other, _ = _cluster_dir(tmp_path, "other")
    env = dict(os.environ, CEPHFLOW_CEPH__CONF=str(other / "ceph.conf"),
               CEPHFLOW_CEPH__LAB_DIR=str(lab), CEPHFLOW_CEPH__HOSTS_BACKEND="lab",
               CEPHFLOW_STATE_DIR=str(tmp_path / "state"))
    cephflow = str(Path(sys.executable).with_name("cephflow"))
    proc = subprocess.run([cephflow, "run", "demo", "--items", "1"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "host operations to the lab cluster" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "state").exists()  # no Redis, no worker started: nothing submitted
