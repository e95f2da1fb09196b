"""Every name in ``cephflow.task_names`` is a task the shipped task modules register.

The compiler, the engine and the views compare against these constants; a constant that no
task module registers (a rename done on one side only) would make them silently miss.
"""

from __future__ import annotations

import pytest

from cephflow import task_names, tasks
from cephflow.runbook.catalog import CATALOG, LOOKUPS

NAMES = {k: v for k, v in vars(task_names).items() if k.endswith("_TASK")}


@pytest.mark.parametrize("constant", sorted(NAMES))
def test_each_name_is_a_registered_task(constant):
    tasks.load_all()
    assert NAMES[constant] in CATALOG


def test_the_precheck_is_a_lookup_as_well():
    tasks.load_all()
    assert task_names.PRECHECK_TASK in LOOKUPS
