"""``WorkflowClient``: the engine's public API, one object over one Redis.

It is ``WorkflowControl`` (submit, decide, cancel, resume, facts: ``engine/control.py``)
and ``WorkflowReader`` (snapshot, list, events, wait, audit: ``engine/reader.py``) bound to
the same connection (``engine/binding.py``). Code that only reads can take a
``WorkflowReader`` instead.
"""

from __future__ import annotations

from cephflow.engine.control import WorkflowControl, current_user
from cephflow.engine.reader import WorkflowReader

__all__ = ["WorkflowClient", "current_user"]


class WorkflowClient(WorkflowControl, WorkflowReader):
    """Submit, control and read workflows in one Redis.

    ``settings`` defaults to the process settings; ``redis_url`` overrides its Redis (the
    embedded one's socket when neither is given).
    """
