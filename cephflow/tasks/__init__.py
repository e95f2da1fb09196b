"""The domain tasks. Importing this package registers every task module in it.

Each module declares its tasks with ``cephflow.engine.registry.task``; ``load_all()`` imports
them so the compiler's catalog and the worker's registry hold every task.
"""

from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    """Import every module of this package and its subpackages (``ceph/``); idempotent."""
    for info in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
        if not info.name.rpartition(".")[2].startswith("_"):
            importlib.import_module(info.name)
