"""Helpers for the Ceph tasks on the lab: a context and a poll loop, an OSD's full weight, pool sizes."""

from __future__ import annotations

import time

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
