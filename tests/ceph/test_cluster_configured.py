"""``check_configured``: a command that would ask Ceph refuses early only when Ceph has
nothing to find a cluster by (no conf here, no monitors in ``$CEPH_ARGS``, no SSH host)."""

from __future__ import annotations

import pytest

from cephflow.ceph.access import build_client
from cephflow.ceph.identity import check_configured
from cephflow.errors import ExitStatus, NoClusterConfigured
from cephflow.settings import CephSettings


@pytest.fixture(autouse=True)
def no_ceph_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CEPH_CONF", str(tmp_path / "nowhere.conf"))
    monkeypatch.delenv("CEPH_ARGS", raising=False)


def test_a_missing_conf_is_refused_before_a_client_is_built(tmp_path):
    with pytest.raises(NoClusterConfigured) as refused:
        build_client(CephSettings())
    assert refused.value.exit_code == ExitStatus.BAD_INPUT
    assert str(refused.value) == f"no Ceph cluster is configured: no ceph.conf in {tmp_path}/nowhere.conf"
    assert "cephflow lab up" in refused.value.hint and "CEPHFLOW_CEPH__CONF" in refused.value.hint


def test_a_conf_that_exists_is_enough(tmp_path):
    conf = tmp_path / "ceph.conf"
    conf.write_text("[global]\nmon_host = 127.0.0.1\n")
    check_configured(CephSettings(conf=conf))
    build_client(CephSettings(conf=conf, backend="cli"))


@pytest.mark.parametrize("args", ["--mon-host 10.0.0.1", "-m 10.0.0.1", "--conf=/x/ceph.conf"])
def test_ceph_args_naming_the_cluster_are_enough(monkeypatch, args):
    monkeypatch.setenv("CEPH_ARGS", args)
    check_configured(CephSettings())


def test_over_ssh_the_admin_hosts_conf_is_its_own_business():
    check_configured(CephSettings(ssh_host="admin-1"))
