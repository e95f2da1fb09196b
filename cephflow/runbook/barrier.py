"""The compiler's barrier nodes, and the one test that tells them from the runbook's steps.

A fan-out that waits for a fan-out would need N x M edges; the compiler puts a no-op node
``dep[*]`` between them instead (N + M). Nobody wrote that node in a runbook, so every view
of a workflow (the plan, the live tree, its header, the submit line) leaves it out with
``is_barrier``: one predicate, so the views cannot disagree about what counts as a step.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from cephflow.task_names import NOOP_TASK

BARRIER_TASK = NOOP_TASK
"""The task of a barrier node."""
BARRIER_SUFFIX = "[*]"
"""A barrier's id is the awaited step's id plus this (``drain[*]``)."""


class _Named(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def task(self) -> str: ...


def barrier_id(step_id: str) -> str:
    """The id of the barrier that stands for every node of ``step_id``."""
    return f"{step_id}{BARRIER_SUFFIX}"


def is_barrier(node: _Named) -> bool:
    """True for a barrier node: a compiled ``Node`` or a ``NodeSnapshot`` alike."""
    return node.task == BARRIER_TASK and node.id.endswith(BARRIER_SUFFIX)


def step_count(nodes: Iterable[_Named]) -> int:
    """How many steps an operator is told about: the nodes without the barriers."""
    return sum(1 for node in nodes if not is_barrier(node))
