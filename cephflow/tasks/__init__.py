"""The domain tasks, a module per area (``core``, ``approval``, ``notify``, ``downtime``, ``ceph/``).

Each module declares its tasks with ``cephflow.engine.registry.task``. A worker imports this
package's modules because its ``task_modules`` setting names it (the default); ``load_all()``
does the same for the compiler's catalog in a process that runs no worker (plan, tests).
"""

from __future__ import annotations

from cephflow.engine.registry import import_task_modules


def load_all() -> None:
    """Import every module of this package and its subpackages (``ceph/``); idempotent."""
    import_task_modules([__name__])
