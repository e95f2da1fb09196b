"""With no cluster configured, a command that needs Ceph says what is missing and the two ways
out (configure one, or ``cephflow lab up``) instead of Ceph's ``ObjectNotFound``; nothing
is started or submitted."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cephflow.ceph.identity import CONF_SEARCH
from cephflow.errors import ExitStatus
from tests.paths import CEPHFLOW, REPO

HINT = ("hint: point cephflow at a cluster: `conf = \"/path/to/ceph.conf\"` under [ceph] in "
        "{config} (or CEPHFLOW_CEPH__CONF=/path/to/ceph.conf; or ceph.ssh_host to run ceph on "
        "an admin host over SSH); or start a throwaway lab cluster with `cephflow lab up`")


def cephflow(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    config = home / "config.toml"
    config.touch()
    full = {k: v for k, v in os.environ.items() if not k.startswith(("CEPHFLOW_", "CEPH_"))}
    full.update(HOME=str(home), CEPHFLOW_STATE_DIR=str(home / "state"),
                CEPHFLOW_CONFIG=str(config), COLUMNS="300", NO_COLOR="1", **env)
    return subprocess.run([CEPHFLOW, *args], env=full, cwd=REPO, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("command", ["plan", "run"])
def test_a_configured_ceph_conf_that_does_not_exist_is_named_with_the_ways_out(
        tmp_path, command):
    absent = tmp_path / "absent" / "ceph.conf"
    result = cephflow(tmp_path, command, "replace-disk", "--host", "X",
                      CEPHFLOW_CEPH__CONF=str(absent))
    assert result.returncode == ExitStatus.BAD_INPUT, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"error: the ceph.conf cephflow is set to use does not exist: {absent} "
        "(ceph.conf, CEPHFLOW_CEPH__CONF)",
        HINT.format(config=tmp_path / "config.toml")]
    assert "ObjectNotFound" not in result.stdout + result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "state" / "redis").exists()  # nothing started, nothing submitted
    assert not (tmp_path / "state" / "worker.pid").exists()


def test_no_ceph_conf_anywhere_says_where_it_looked(tmp_path):
    absent = tmp_path / "nowhere.conf"
    result = cephflow(tmp_path, "plan", "replace-disk", "--host", "X", CEPH_CONF=str(absent))
    assert result.returncode == ExitStatus.BAD_INPUT, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"error: no Ceph cluster is configured: no ceph.conf in {absent}",
        HINT.format(config=tmp_path / "config.toml")]


@pytest.mark.skipif(any(Path(p).expanduser().is_file() for p in CONF_SEARCH if p != "ceph.conf"),
                    reason="this host has a ceph.conf where Ceph looks by default")
def test_nothing_set_and_no_default_ceph_conf(tmp_path):
    result = cephflow(tmp_path, "plan", "replace-disk", "--host", "X")
    assert result.returncode == ExitStatus.BAD_INPUT, result.stdout + result.stderr
    assert result.stderr.splitlines()[0] == (
        "error: no Ceph cluster is configured: no ceph.conf in " + ", ".join(CONF_SEARCH))
