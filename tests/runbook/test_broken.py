"""The corpus of broken runbooks: one mistake per file, each reported at its exact place.

The first line of every file under ``broken/`` says what must be reported:
``# expect: LINE:COL: message`` (several joined by `` || ``; a problem in another file names
it, relative to ``broken/``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cephflow.errors import RunbookError
from cephflow.runbook.compiler import Compiler
from tests.runbook import support

CASES = sorted(support.BROKEN.glob("*.yaml"))
BROKEN_REL = support.BROKEN.relative_to(support.REPO)


def expected(path: Path) -> list[str]:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} lacks its '# expect:' line"
    result = []
    for item in first.removeprefix("# expect: ").split(" || "):
        head = item.split(":", 1)[0]
        own = head.isdigit()
        result.append(f"{BROKEN_REL / path.name}:{item}" if own else f"{BROKEN_REL}/{item}")
    return result


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_broken_runbook_reports_its_mistake(path, monkeypatch):
    monkeypatch.chdir(support.REPO)
    compiler = Compiler(catalog=support.catalog(), lookups=support.lookups(),
                        search_path=[support.BROKEN])
    with pytest.raises(RunbookError) as caught:
        compiler.compile(compiler.load(path, strict=False), {})
    assert [str(p) for p in caught.value.problems] == expected(path)
