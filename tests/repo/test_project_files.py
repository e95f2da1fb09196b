"""Audit of the project's promises that live in files: the README's two commands, CI, pins, docs.

A wrong repository gets these wrong: a README command the Makefile lacks, a CI script that runs
something other than the README's test command, an unpinned dependency, a benchmark that the
issues ask for but docs/benchmarks.md does not report.
"""

from __future__ import annotations

import re
import shlex
import tomllib

from tests.paths import REPO


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"## Two commands.*?```sh\n(.*?)```", text, re.S)
    assert block, "README has no 'Two commands' shell block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def make_targets() -> dict[str, list[str]]:
    targets: dict[str, list[str]] = {}
    current = None
    for line in (REPO / "Makefile").read_text().splitlines():
        head = re.match(r"^([A-Za-z_-]+):(?!=)(.*)$", line)
        if head:
            current = head.group(1)
            targets[current] = head.group(2).split()
        elif line.startswith("\t") and current:
            targets[current].append(line.strip())
    return targets


def test_the_readme_has_exactly_two_commands_and_both_are_make_targets_that_set_up():
    commands = readme_commands()
    assert commands == ["make demo", "make test"]
    targets = make_targets()
    for command in commands:
        name = command.split()[1]
        assert name in targets, f"{command}: no such Makefile target"
        assert "setup" in targets[name], f"{command} does not install what it needs"
    assert "scripts/setup.sh" in " ".join(targets["setup"])
    assert any("pytest" in line for line in targets["test"])  # the whole suite: no path given
    pytest_line = next(line for line in targets["test"] if "pytest" in line)
    words = shlex.split(pytest_line)
    options = words[words.index("pytest") + 1:]
    # options only (their values included), no test path: the whole suite, as testpaths says
    paths = [w for i, w in enumerate(options)
             if not w.startswith("-") and not (i and options[i - 1] in ("-n", "--dist"))]
    assert paths == [], pytest_line


def test_ci_runs_exactly_the_readme_test_command():
    lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    commands = [line for line in lines if not line.startswith(("set ", "cd "))]
    assert commands == ["make test"]
    assert "set -euo pipefail" in lines  # a failing suite fails CI


def test_the_demo_runs_replace_disk_on_the_lab_and_follows_it():
    script = (REPO / "scripts" / "demo.sh").read_text()
    assert "lab up" in script and ("lab demo" in script or "run replace-disk" in script)


def test_every_dependency_is_pinned_to_a_range_and_the_cli_is_a_console_script():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["cephflow"] == "cephflow.cli.app:main"
    deps = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        deps += extra
    assert "test" in project["optional-dependencies"]
    for dep in deps:
        assert ">=" in dep and "<" in dep.split(">=", 1)[1], f"not a range: {dep}"


def test_benchmarks_the_issues_ask_for_are_reported_with_machine_and_date():
    text = (REPO / "docs" / "benchmarks.md").read_text()
    sections = dict(re.findall(r"^## (\w[\w ]*)\n(.*?)(?=^## |\Z)", text, re.S | re.M))
    assert {"Compiler", "Follow", "Ceph access", "Engine"} <= set(sections)
    for name, body in sections.items():
        assert re.search(r"Measured 20\d\d-\d\d-\d\d", body), f"{name}: no date"
        assert "Debian" in body and "cores" in body, f"{name}: no machine"
    for script in ("compile_bench.py", "engine_bench.py", "follow_bench.py", "ceph_bench.py"):
        assert (REPO / "bench" / script).is_file()
        assert script in text
    compiler = sections["Compiler"]
    assert "10,00" in compiler and " ms " in compiler
    engine = sections["Engine"]
    for shape in ("flat group (floor)", "chain of chords (canvas)", "celery-dyrygent",
                  "cephflow"):
        for size in ("1,000", "10,000"):
            assert re.search(rf"^\| {re.escape(shape)} \| {size} \|", engine, re.M), (shape, size)
    assert re.search(r"^\| cephflow.*\| 100,000 \|", engine, re.M)
    for column in ("× floor", "submit", "client MB", "max message", "worker MB", "exactly once"):
        assert column in engine
    follow = sections["Follow"]
    assert "10,000" in follow and "share of one core" in follow and "peak RSS" in follow
    assert "librados" in sections["Ceph access"]
