"""One module per command group; each has ``register(app)``. Listed here in help order."""

from __future__ import annotations

from types import ModuleType

from cephflow.cli.commands import control, lab, plan, run, runbooks, services, status, worker

MODULES: list[ModuleType] = [runbooks, plan, run, status, control, worker, services, lab]
