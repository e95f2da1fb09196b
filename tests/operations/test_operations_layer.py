"""The operations layer is what both front ends call: it never renders, and never reaches up.

Its functions return data and raise cephflow errors; a web API imports them without the
CLI's rich and typer (that nothing below imports the layer or the CLI is the import-linter
layers contract's job, run by ``make test``).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cephflow.engine.state import NodeSnapshot, NodeState, WorkflowSnapshot
from cephflow.errors import StepNotFound
from cephflow.operations.steps import find_node
from tests.paths import REPO

IMPORT_ALL = """
import importlib, pkgutil, sys
import cephflow.operations as ops
for info in pkgutil.iter_modules(ops.__path__):
    importlib.import_module(f"cephflow.operations.{info.name}")
front = sorted({name.split(".")[0] for name in sys.modules if name.split(".")[0] in ("typer", "rich")}
               | {name for name in sys.modules if name.startswith("cephflow.cli")})
print(" ".join(front))
"""


def test_operations_import_no_front_end():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=120, check=True)
    assert done.stdout.strip() == ""


def _snapshot(*nodes: tuple[str, str, str | None, NodeState]) -> WorkflowSnapshot:
    return WorkflowSnapshot(
        id="wf1", runbook="drain-host", state="running", submitted_at=0.0,
        nodes={node_id: NodeSnapshot(id=node_id, step=step, label=label, task="core.log",
                                     state=state)
               for node_id, step, label, state in nodes})


def test_find_node_names_one_node_or_raises_step_not_found():
    snap = _snapshot(("drain[osd.1]", "drain", "osd.1", NodeState.SUCCEEDED),
                     ("drain[osd.2]", "drain", "osd.2", NodeState.FAILED),
                     ("wait-healthy", "wait-healthy", None, NodeState.PENDING))
    assert find_node(snap, "osd.1") == "drain[osd.1]"
    assert find_node(snap, "drain") == "drain[osd.2]"  # the one member that failed
    assert find_node(snap, "wait") == "wait-healthy"
    with pytest.raises(StepNotFound, match="workflow wf1 has no step 'nope'") as caught:
        find_node(snap, "nope")
    assert caught.value.exit_code == 2
