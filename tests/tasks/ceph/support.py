"""Helpers for the Ceph tasks on the lab: a context and a poll loop, an OSD's full weight, pool
sizes, and slow, visible movement for a test (short PG logs, objects, restored afterwards)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping, Sequence

from cephflow.ceph.command import cmd
from cephflow.engine.context import MemoryBackend, NotYet, StepContext

FULL = 0.00048828125
"""The crush weight of a lab OSD at its full size (512 MiB memstore, in TiB)."""


class Runner:
    """Runs task functions like the engine would: one StepContext per node, polls on NotYet."""

    def __init__(self, settings, workflow: str = "wf-test"):
        self.settings = settings
        self.backend = MemoryBackend()
        self.workflow = workflow

    def ctx(self, node: str) -> StepContext:
        return StepContext(self.workflow, node, self.backend, settings=self.settings)

    def once(self, fn, node: str, **args):
        return fn(self.ctx(node), **args)

    def poll(self, fn, node: str, *, timeout: float = 90.0, **args):
        deadline = time.monotonic() + timeout
        while True:
            try:
                return fn(self.ctx(node), **args)
            except NotYet as wait:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{node} still waiting after {timeout}s: {wait.detail}") from None
                time.sleep(min(wait.countdown or 1.0, 0.5))

    def progress(self, node: str) -> list[str]:
        return [detail for _, n, detail, _ in self.backend.progress if n == node]


def set_pools(client, size: str, min_size: str) -> list[str]:
    """Set every pool's ``size`` and ``min_size``; returns the pools."""
    pools = list(client.osd_dump().pools)
    for pool in pools:
        for key, value in (("size", size), ("min_size", min_size)):
            client.change(cmd("osd pool set", pool, key, value, pool=pool, var=key, val=value,
                              readonly=False, json_output=False))
    return pools


class LabRados:
    """A librados handle on the lab for what the client does not ask (the config database)."""

    def __init__(self, conf):
        import rados

        self.cluster = rados.Rados(conffile=str(conf))
        self.cluster.connect()

    def mon(self, **command):
        rc, out, err = self.cluster.mon_command(json.dumps({**command, "format": "json"}), b"")
        assert rc == 0, err
        return json.loads(out) if out.strip() else None

    def close(self) -> None:
        self.cluster.shutdown()


@contextlib.contextmanager
def slow_movement(ceph_lab, lab: LabRados, config: Mapping[str, str], *, objects: int,
                  prefix: str, flags: Sequence[str] = ()) -> Iterator[LabRados]:
    """Movement slow and visible for one test: ``config`` set on the OSDs (short PG logs make
    a moved PG backfill instead of recovering from its log; ``osd_recovery_sleep`` slows it)
    and ``objects`` small objects written. Afterwards ``flags`` still set are unset, every
    OSD is back at its full weight, the config and the objects are removed, and the cluster is
    waited for until healthy."""
    from cephflow.tasks.ceph import wait as ceph_wait

    io = lab.cluster.open_ioctx(ceph_lab.pool)
    try:
        for name, value in config.items():
            lab.mon(prefix="config set", who="osd", name=name, value=value)
        for i in range(objects):
            io.write_full(f"{prefix}-{i}", prefix[:1].encode() * 4096)
        yield lab
    finally:
        client = ceph_lab.client()
        for flag in flags:
            if flag in client.osd_dump().flags:
                client.unset_flag(flag)
        for osd in client.osd_tree().osds.values():
            if abs(osd.crush_weight - FULL) > 1e-6:
                client.crush_reweight(f"osd.{osd.id}", FULL)
        for name in config:
            lab.mon(prefix="config rm", who="osd", name=name)
        for i in range(objects):
            io.remove_object(f"{prefix}-{i}")
        io.close()
        lab.close()
        Runner(ceph_lab.settings(), workflow="restore").poll(ceph_wait.wait_healthy, "restore",
                                                             timeout=180)
