"""Which cluster a configuration talks to, by fsid: one workflow, one cluster.

Ceph commands go where ``ceph.conf`` (or Ceph's own default) points; host operations go where
the host backend points. For the lab backend these are two settings (``ceph.conf`` and
``ceph.lab_dir``) that could name two different clusters; a worker that mixed them would ask
one cluster whether an OSD is ok to stop and then stop the other cluster's daemon. So every
place that acts (worker start, submit, each host operation) checks that both name one fsid.

``cephadm`` host operations go through ``ceph orch`` on the same client, so they cannot
diverge; ``ssh`` (systemd) hosts are checked per OSD by the backend itself, where the OSD's
own ``ceph_fsid`` file lives.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from cephflow.errors import ClusterMismatch, NoClusterConfigured
from cephflow.settings import CephSettings, config_file

DEFAULT_CONF = Path("/etc/ceph/ceph.conf")
CONF_SEARCH = (str(DEFAULT_CONF), "~/.ceph/config", "ceph.conf")
"""Where Ceph looks for its conf when none is given and ``$CEPH_CONF`` is unset."""
CONF_OPTIONS = ("-c", "--conf", "--mon-host", "--mon_host", "-m")
"""Options in ``$CEPH_ARGS`` that tell Ceph where the cluster is without a conf file."""
_FSID = re.compile(r"^\s*fsid\s*=\s*([0-9a-fA-F-]{36})\s*(?:[#;].*)?$")


def conf_fsid(conf: Path) -> str | None:
    """The ``fsid`` a ceph.conf names in its ``[global]`` section (None: unreadable or none)."""
    section = "global"
    try:
        lines = Path(conf).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            continue
        match = _FSID.match(line)
        if match and section == "global":
            return match.group(1).lower()
    return None


def command_conf(ceph: CephSettings) -> Path | None:
    """The ceph.conf that ``ceph`` commands read on this machine (None: they run over SSH)."""
    if ceph.ssh_host:
        return None
    if ceph.conf is not None:
        return Path(ceph.conf)
    env = os.environ.get("CEPH_CONF")
    if env:
        return Path(env)
    found = [Path(p).expanduser() for p in CONF_SEARCH if Path(p).expanduser().is_file()]
    return found[0] if found else DEFAULT_CONF


def check_configured(ceph: CephSettings) -> None:
    """Raise NoClusterConfigured when ``ceph`` runs here and has no conf to find a cluster by.

    Checked before Ceph is asked anything, since its own error for it (``ObjectNotFound``
    from ``conf_read_file``) names neither the file nor a way out. Over SSH the admin host's
    conf is that host's business; ``$CEPH_ARGS`` naming a conf or the monitors is enough.
    """
    conf = command_conf(ceph)
    if conf is None or conf.expanduser().is_file():
        return
    if ceph.conf is not None:
        raise NoClusterConfigured(
            f"the ceph.conf cephflow is set to use does not exist: {ceph.conf}",
            where="ceph.conf, CEPHFLOW_CEPH__CONF", hint=_HINT.format(config_file()))
    if any(word.split("=")[0] in CONF_OPTIONS
           for word in shlex.split(os.environ.get("CEPH_ARGS", ""))):
        return
    # Ceph reads $CEPH_CONF alone when it is set
    looked = [os.environ["CEPH_CONF"]] if os.environ.get("CEPH_CONF") else list(CONF_SEARCH)
    raise NoClusterConfigured(
        f"no Ceph cluster is configured: no ceph.conf in {', '.join(looked)}",
        hint=_HINT.format(config_file()))


_HINT = ("point cephflow at a cluster: `conf = \"/path/to/ceph.conf\"` under [ceph] in {} "
         "(or CEPHFLOW_CEPH__CONF=/path/to/ceph.conf; or ceph.ssh_host to run ceph on an "
         "admin host over SSH); or start a throwaway lab cluster with `cephflow lab up`")


def check_one_cluster(ceph: CephSettings) -> None:
    """Raise ClusterMismatch when Ceph commands and host operations would reach two clusters.

    Only a lab host backend has a cluster of its own to compare (its directory's ceph.conf);
    an unreadable side is not a mismatch here (the first command then fails on its own).
    """
    if ceph.hosts_backend != "lab" or not ceph.lab_dir:
        return
    lab_conf = Path(ceph.lab_dir) / "ceph.conf"
    commands = command_conf(ceph)
    if commands is None:
        raise ClusterMismatch(
            f"ceph.ssh_host = {ceph.ssh_host} runs ceph commands on another machine, but the "
            f"host backend is the local lab in {ceph.lab_dir}: one workflow must act on one cluster"
        )
    ours, theirs = conf_fsid(commands), conf_fsid(lab_conf)
    if ours and theirs and ours != theirs:
        raise ClusterMismatch(
            f"ceph commands go to cluster {ours} ({commands}) but host operations to the lab "
            f"cluster {theirs} ({lab_conf}): set ceph.conf and ceph.lab_dir to one cluster"
        )
