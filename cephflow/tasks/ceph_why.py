"""The step's side of ``cephflow.ceph.waiting``: which flags this workflow owns.

Kept apart from ceph_common because ownership is recorded by ceph_flags, which itself builds
on ceph_common.
"""

from __future__ import annotations

from cephflow.ceph.waiting import FLAG_EFFECTS
from cephflow.engine.context import StepContext
from cephflow.tasks.ceph_flags import _flag_key


def our_flags(ctx: StepContext) -> frozenset[str]:
    """The flags of FLAG_EFFECTS that this workflow set (fact ``flag.<name>`` is True)."""
    return frozenset(f for f in FLAG_EFFECTS if ctx.fact(_flag_key(f)))
