"""Golden plans: the compiled DAG of every shipped runbook, compared with checked-in JSON.

``golden/<name>.json`` is the plan (redacted DAG, pretty JSON) of ``runbooks/<name>.yaml``
compiled with the params in ``golden/<name>.params.json`` (optional, default ``{}``); a
runbook with ``discover`` lookups gets fixed answers from ``golden/<name>.lookups.json``
(``{"lookup.name": answer}``), so no cluster is needed.

A runbook that needs params or lookups and has no golden plan yet is skipped with a note
saying which files to add. Regenerate after an intended change: ``CEPHFLOW_REGEN_GOLDEN=1 pytest tests/runbook/test_golden.py``
and review the diff.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from cephflow.runbook.catalog import CATALOG, LOOKUPS, LookupSpec
from cephflow.runbook.compiler import Compiler
from cephflow.settings import SHIPPED_RUNBOOKS
from tests.runbook import support

REGEN = os.environ.get("CEPHFLOW_REGEN_GOLDEN") == "1"
SHIPPED = sorted(SHIPPED_RUNBOOKS.glob("*.yaml"))


def _optional_json(path: Path, default: Any) -> Any:
    return json.loads(path.read_text()) if path.exists() else default


def _fixed_lookups(answers: dict[str, Any]) -> dict[str, LookupSpec]:
    result = dict(LOOKUPS)
    for name, answer in answers.items():
        params = LOOKUPS[name].params if name in LOOKUPS else {}

        def fixed(_answer: Any = answer, **_: Any) -> Any:
            return _answer

        result[name] = LookupSpec(name=name, fn=fixed, params=params)
    return result


def _pretty(text: str) -> str:
    return json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _check(golden: Path, actual: str) -> None:
    if REGEN:
        golden.write_text(actual)
        return
    if not golden.exists():
        pytest.fail(f"no golden plan {golden.relative_to(support.REPO)}; create it with "
                    "CEPHFLOW_REGEN_GOLDEN=1 and review it")
    expected = golden.read_text()
    if actual != expected:
        diff = "".join(list(difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True),
            "golden", "compiled"))[:60])
        pytest.fail(f"the plan differs from {golden.relative_to(support.REPO)}; if the change is "
                    f"intended, regenerate with CEPHFLOW_REGEN_GOLDEN=1 and review:\n{diff}")


@pytest.mark.parametrize("source", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_runbook_plan_matches_golden(source, monkeypatch):
    from cephflow import tasks

    tasks.load_all()
    monkeypatch.chdir(support.REPO)
    name = source.stem
    params = _optional_json(support.GOLDEN / f"{name}.params.json", {})
    answers = _optional_json(support.GOLDEN / f"{name}.lookups.json", {})
    compiler = Compiler(catalog=CATALOG, lookups=_fixed_lookups(answers),
                        search_path=[SHIPPED_RUNBOOKS])
    loaded = compiler.load(source)
    golden = support.GOLDEN / f"{name}.json"
    needs_inputs = loaded.decl.discover or any(p.is_required for p in loaded.decl.params.values())
    if needs_inputs and not golden.exists() and not REGEN:
        pytest.skip(f"no golden plan for {name} yet: add golden/{name}.params.json (and "
                    f"golden/{name}.lookups.json for its lookups), then CEPHFLOW_REGEN_GOLDEN=1")
    if loaded.decl.discover and not (support.GOLDEN / f"{name}.lookups.json").exists():
        pytest.fail(f"{name} has discover lookups: add golden/{name}.lookups.json with a fixed "
                    "answer per lookup name, so the golden plan needs no cluster")
    first = compiler.compile(loaded, params).redacted().to_json()
    assert compiler.compile(loaded, params).redacted().to_json() == first  # deterministic
    _check(support.GOLDEN / f"{name}.json", _pretty(first))


def test_example_runbook_plan_matches_golden(monkeypatch):
    monkeypatch.chdir(support.REPO)
    compiler = Compiler(catalog=support.catalog(), lookups=support.lookups(), search_path=[])
    dag = compiler.compile(compiler.load(support.EXAMPLES / "full.yaml"), {"host": "node2"})
    _check(support.GOLDEN / "example-full.json", _pretty(dag.redacted().to_json()))


def test_runbooks_that_touch_one_host_take_the_same_lock(monkeypatch):
    """reweight of one OSD, replace-disk of it and drain-host of its host exclude each other."""
    from cephflow import tasks

    tasks.load_all()
    monkeypatch.chdir(support.REPO)
    answers = _optional_json(support.GOLDEN / "replace-disk.lookups.json", {})
    answers["ceph.device_osds"] = answers["ceph.replace_targets"]
    host = answers["ceph.device_osds"][0]["host"]
    answers["ceph.host_osds"] = answers["ceph.device_osds"]
    compiler = Compiler(catalog=CATALOG, lookups=_fixed_lookups(answers),
                        search_path=[SHIPPED_RUNBOOKS])
    osd = answers["ceph.device_osds"][0]["id"]
    locks = {
        name: set(compiler.compile(compiler.load(name), params).locks)
        for name, params in (("reweight", {"osd": osd, "target": 0.5}),
                             ("replace-disk", {"osd": osd}),
                             ("drain-host", {"host": host}))
    }
    shared = set.intersection(*locks.values())
    assert shared == {f"host:{host}"}, locks
