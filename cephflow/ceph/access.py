"""Build the ``CephClient`` (and host operations) that the settings describe, once per process.

Tasks call ``client_for(ctx.settings)``: a worker keeps one client per cluster configuration,
so the librados handle and the SSH connection stay open across polls.
"""

from __future__ import annotations

import threading

from cephflow.ceph.backends import Backend, CliBackend, RadosBackend, rados_available
from cephflow.ceph.client import CephClient
from cephflow.ceph.command_runner import CommandRunner, LocalRunner
from cephflow.ceph.identity import check_configured
from cephflow.ceph.ssh import SshRunner
from cephflow.errors import ConfigError
from cephflow.settings import CephSettings, Settings

_CLIENTS: dict[str, CephClient] = {}
_LOCK = threading.Lock()


def ssh_runner(host: str, ceph: CephSettings) -> SshRunner:
    """An SSH connection to ``host`` as the settings say: the admin host and every OSD host
    are reached with the same user, key, known_hosts and timeouts. An unknown host key is
    trusted on first use only when ``host`` is listed, by this very name, in
    ``ssh_trust_new_host_keys``."""
    return SshRunner(
        host,
        port=ceph.ssh_port,
        user=ceph.ssh_user,
        key_file=ceph.ssh_key,
        known_hosts=ceph.known_hosts,
        trust_new_host_key=host in ceph.ssh_trust_new_host_keys,
        connect_timeout=ceph.connect_timeout,
        command_timeout=ceph.command_timeout,
    )


def admin_runner(ceph: CephSettings) -> CommandRunner:
    """Where ``ceph`` commands run: locally, or on ``ssh_host`` over SSH."""
    if ceph.ssh_host:
        return ssh_runner(ceph.ssh_host, ceph)
    return LocalRunner(timeout=ceph.call_timeout)


def build_client(ceph: CephSettings) -> CephClient:
    """A new client for these settings (no caching); NoClusterConfigured without a cluster."""
    if ceph.backend not in ("auto", "cli", "librados"):
        raise ConfigError(f"ceph.backend must be auto, cli or librados, not {ceph.backend!r}")
    check_configured(ceph)
    writer = CliBackend(
        admin_runner(ceph),
        binary=ceph.ceph_binary,
        conf=ceph.conf,
        connect_timeout=ceph.connect_timeout,
    )
    reader: Backend = writer
    local = not ceph.ssh_host
    if ceph.backend == "librados":
        if not (local and ceph.conf):
            raise ConfigError("ceph.backend = librados needs a local ceph.conf (ceph.conf)")
        reader = RadosBackend(conf=ceph.conf, connect_timeout=ceph.connect_timeout,
                              command_timeout=ceph.call_timeout)
    elif ceph.backend == "auto" and local and ceph.conf and rados_available():
        reader = RadosBackend(conf=ceph.conf, connect_timeout=ceph.connect_timeout,
                              command_timeout=ceph.call_timeout)
    return CephClient(writer, reader, timeout=ceph.call_timeout)


def client_for(settings: Settings) -> CephClient:
    """The process-wide client for ``settings.ceph`` (built on first use)."""
    key = settings.ceph.model_dump_json()
    with _LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = build_client(settings.ceph)
        return client


def forget_clients() -> None:
    """Drop cached clients (after a lab restart, in tests)."""
    with _LOCK:
        for client in _CLIENTS.values():
            for backend in {id(client.reader): client.reader, id(client.writer): client.writer}.values():
                close = getattr(backend, "close", None)
                if close:
                    close()
        _CLIENTS.clear()
