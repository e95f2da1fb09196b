"""Property: whatever text the loader is fed, the result is a Dag or a clean cephflow error.

Three sources of input: arbitrary text, random YAML documents built from the language's own
keys (so they get past the parser and stress the schema and the compiler), and random
mutations (deleted, duplicated, swapped, re-indented lines, stray characters, swapped words)
of the shipped runbooks and the example runbooks.
"""

from __future__ import annotations

import re
import shutil

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cephflow.errors import ParamError, RunbookError, RunbookNotFound
from cephflow.runbook.compiler import Compiler
from cephflow.runbook.dag import Dag
from cephflow.settings import SHIPPED_RUNBOOKS
from tests.runbook import support

CLEAN = (RunbookError, ParamError, RunbookNotFound)
SOURCES = sorted(SHIPPED_RUNBOOKS.glob("*.yaml")) + sorted(support.EXAMPLES.glob("*.yaml"))
WORDS = [
    "name", "description", "params", "discover", "locks", "steps", "finally", "id", "task",
    "include", "with", "after", "foreach", "as", "label", "concurrency", "when", "retry",
    "timeout", "approval", "type", "default", "choices", "secret", "lookup", "attempts",
    "core.log", "core.sleep", "core.fail", "core.approval", "test.reweight", "test.zap",
    "test.osds_on_host", "message", "seconds", "osd", "host", "item", "sub.yaml", "full.yaml",
    "{{ item }}", "{{ host }}", "{{ osds }}", "{{ range(3) | list }}", "{{ x.__class__ }}",
    "30m", "int", "list[int]", "duration", "true", "0", "-1", "[", "{", "*a", "&a",
]
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture
def workdir(tmp_path):
    for source in support.EXAMPLES.glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    return tmp_path


def compile_text(workdir, text: str) -> None:
    path = workdir / "under-test.yaml"
    path.write_text(text, encoding="utf-8")
    compiler = Compiler(catalog=support.catalog(), lookups=support.lookups(),
                        search_path=[workdir, SHIPPED_RUNBOOKS])
    try:
        dag = compiler.compile(compiler.load(path, strict=False), {"host": "node2"})
    except CLEAN as exc:
        assert str(exc)  # a message for the operator
        if isinstance(exc, RunbookError):
            assert exc.problems and all(p.line >= 1 and p.column >= 1 for p in exc.problems)
            # as the loader sees it: read with universal newlines, then YAML's line breaks
            seen = text.replace("\r\n", "\n").replace("\r", "\n")
            lines = re.split("[\n\x85\u2028\u2029]", seen)
            for p in exc.problems:
                if p.file.endswith("under-test.yaml"):  # a position inside the file
                    assert p.line <= len(lines) + 1, p
                    if p.line <= len(lines):
                        assert p.column <= len(lines[p.line - 1]) + 2, p
        return
    assert isinstance(dag, Dag)
    text = dag.to_json()
    assert Dag.model_validate_json(text).to_json() == text


@SETTINGS
@given(text=st.text(max_size=300))
def test_arbitrary_text(workdir, text):
    compile_text(workdir, text)


scalars = st.one_of(st.sampled_from(WORDS), st.integers(-5, 20), st.booleans(), st.none(),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(WORDS), inner, max_size=5)),
    max_leaves=25,
)


@SETTINGS
@given(doc=st.dictionaries(st.sampled_from(WORDS), documents, max_size=6))
def test_random_documents_in_the_language_vocabulary(workdir, doc):
    compile_text(workdir, yaml.safe_dump(doc))


@st.composite
def mutated(draw):
    source = draw(st.sampled_from(SOURCES))
    lines = source.read_text().splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent", "char",
                                   "word", "truncate"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][2:]
        elif op == "char":
            pos = draw(st.integers(0, len(lines[i])))
            ch = draw(st.sampled_from(list(":-[]{}#&*!|>'\"%@`\t ,?") + ["x", "é"]))
            lines[i] = lines[i][:pos] + ch + lines[i][pos:]
        elif op == "word":
            words = lines[i].split(" ")
            k = draw(st.integers(0, len(words) - 1))
            words[k] = draw(st.sampled_from(WORDS))
            lines[i] = " ".join(words)
        else:
            lines = lines[:i]
    return "\n".join(lines) + "\n"


@SETTINGS
@given(text=mutated())
def test_mutations_of_shipped_and_example_runbooks(workdir, text):
    compile_text(workdir, text)
