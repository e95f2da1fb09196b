"""A runbook file (or an include) larger than the cap is refused before it is parsed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cephflow.cli.app import _register_commands, app
from cephflow.errors import RunbookError
from cephflow.runbook import library
from cephflow.runbook.compiler import Compiler
from tests.runbook import support

SMALL = "name: small\nsteps:\n  - id: a\n    task: core.log\n    with: {message: hi}\n"


def padded(text: str, size: int) -> str:
    """``text`` followed by YAML comments up to ``size`` bytes: valid, just large."""
    filler = "# " + "x" * 77 + "\n"
    return text + filler * ((size - len(text)) // len(filler) + 1)


def test_a_file_over_the_cap_is_one_problem_naming_the_file_and_the_cap(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    big = tmp_path / "big.yaml"
    big.write_text(padded(SMALL, library.MAX_BYTES))
    doc, problems, file = library.read(big)
    assert [str(p) for p in problems] == ["big.yaml:1:1: runbook file is larger than the 1 MiB limit"]
    assert doc.data is None


def test_a_file_at_the_cap_is_read(tmp_path):
    exact = tmp_path / "exact.yaml"
    text = padded(SMALL, 1000)[:1000]
    exact.write_text(text)
    doc, problems, _ = library.read(exact, max_bytes=1000)
    assert problems == [] and doc.data["name"] == "small"
    _, over, _ = library.read(exact, max_bytes=999)
    assert [p.message for p in over] == ["runbook file is larger than the 999 bytes limit"]


def test_crlf_line_ends_still_give_the_right_lines(tmp_path):
    crlf = tmp_path / "crlf.yaml"
    crlf.write_bytes(b"name: x\r\nsteps:\r\n  - id: a\r\n")
    doc, problems, _ = library.read(crlf)
    assert problems == [] and doc.where(("steps", 0, "id")) == (3, 9)


def test_an_include_over_the_cap_is_reported_at_the_included_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "child.yaml").write_text(padded(SMALL, library.MAX_BYTES))
    parent = tmp_path / "parent.yaml"
    parent.write_text("name: parent\nsteps:\n  - id: sub\n    include: child.yaml\n")
    compiler = Compiler(catalog=support.catalog(), lookups=support.lookups(), search_path=[tmp_path])
    with pytest.raises(RunbookError) as caught:
        compiler.compile(compiler.load(parent, strict=False), {})
    assert "child.yaml:1:1: runbook file is larger than the 1 MiB limit" in [
        str(p) for p in caught.value.problems]


def test_plan_of_a_huge_runbook_exits_2_at_once(tmp_path, monkeypatch):
    if not app.registered_commands and not app.registered_groups:
        _register_commands()
    monkeypatch.chdir(tmp_path)
    big = tmp_path / "big.yaml"
    big.write_text(padded(SMALL, 8 * library.MAX_BYTES))
    result = CliRunner().invoke(app, ["plan", str(Path("big.yaml"))])
    assert result.exit_code == 2
    assert "big.yaml:1:1: runbook file is larger than the 1 MiB limit" in result.output
    assert "Traceback" not in result.output
