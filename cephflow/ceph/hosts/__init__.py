"""Host-level operations (stop an OSD daemon, zap a disk, create an OSD) per way of deploying.

``hosts_for(settings)`` picks the backend named by ``settings.ceph.hosts_backend``:
``ssh`` (package/systemd hosts), ``cephadm`` (``ceph orch``) or ``lab`` (the lab cluster).
"""

from __future__ import annotations

from cephflow.ceph.access import client_for
from cephflow.ceph.hosts.base import DeviceInfo, HostOps
from cephflow.ceph.hosts.cephadm import CephadmHosts
from cephflow.ceph.hosts.lab import LabHosts
from cephflow.ceph.hosts.systemd import SystemdHosts
from cephflow.ceph.identity import check_one_cluster
from cephflow.errors import ConfigError
from cephflow.settings import Settings

__all__ = ["DeviceInfo", "HostOps", "hosts_for"]


def hosts_for(settings: Settings) -> HostOps:
    """The host operations backend the settings name."""
    kind = settings.ceph.hosts_backend
    if kind == "lab":
        if not settings.ceph.lab_dir:
            raise ConfigError("hosts_backend = lab but no lab is up (cephflow lab up)")
        check_one_cluster(settings.ceph)
        return LabHosts(settings.ceph.lab_dir, client_for(settings))
    if kind == "cephadm":
        return CephadmHosts(client_for(settings), host_timeout=settings.ceph.command_timeout)
    if kind == "ssh":
        return SystemdHosts.from_settings(settings.ceph)
    raise ConfigError(f"ceph.hosts_backend must be ssh, cephadm or lab, not {kind!r}")
