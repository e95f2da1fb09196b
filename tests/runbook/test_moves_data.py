"""A runbook's ``moves_data``: explicit wins (either way), else inferred from the tasks its
steps use (``@task(moves_data=True)``); submit keeps it with the workflow."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cephflow.engine.registry import import_task_modules
from cephflow.errors import RunbookError
from cephflow.runbook.catalog import CATALOG
from cephflow.runbook.compiler import Compiler
from tests.runbook.support import REPO

MOVING = ("ceph.reweight", "ceph.out", "ceph.in", "ceph.drain_host", "ceph.fill_host",
          "ceph.create_osd", "ceph.purge_osd")


@pytest.fixture(autouse=True)
def _tasks():
    import_task_modules(["cephflow.tasks"])  # the real catalog: what a worker registers


def _compile(tmp_path: Path, body: str, params: dict | None = None):
    path = tmp_path / "rb.yaml"
    path.write_text(textwrap.dedent(body))
    compiler = Compiler(search_path=[])
    return compiler.compile(compiler.load(path), params or {})


def test_the_tasks_that_move_data_say_so():
    assert {name for name, spec in CATALOG.items() if spec.moves_data} >= set(MOVING)
    assert not CATALOG["ceph.set_flag"].moves_data
    assert not CATALOG["ceph.wait_healthy"].moves_data


def test_inferred_from_a_step_that_moves_data(tmp_path):
    dag = _compile(tmp_path, """\
        name: t
        steps:
          - id: w
            task: ceph.out
            with: {osd: 1}
        """)
    assert dag.moves_data is True


def test_inferred_false_without_one(tmp_path):
    dag = _compile(tmp_path, """\
        name: t
        steps:
          - id: l
            task: core.log
            with: {message: hi}
        """)
    assert dag.moves_data is False


@pytest.mark.parametrize(("declared", "task", "args"), [
    ("false", "ceph.out", "{osd: 1}"),
    ("true", "core.log", "{message: hi}"),
])
def test_explicit_wins_over_inferred(tmp_path, declared, task, args):
    dag = _compile(tmp_path, f"""\
        name: t
        moves_data: {declared}
        steps:
          - id: s
            task: {task}
            with: {args}
        """)
    assert dag.moves_data is (declared == "true")


def test_a_value_that_is_not_a_boolean_is_refused(tmp_path):
    with pytest.raises(RunbookError, match="moves_data"):
        _compile(tmp_path, """\
            name: t
            moves_data: sometimes
            steps:
              - id: l
                task: core.log
                with: {message: hi}
            """)


@pytest.mark.parametrize("runbook", ["drain-host", "reweight", "replace-disk", "add-host"])
def test_the_shipped_runbooks_that_move_data(runbook):
    compiler = Compiler(search_path=[])
    loaded = compiler.load(REPO / "runbooks" / f"{runbook}.yaml")
    assert loaded.decl.moves_data is True  # said explicitly, not left to inference
