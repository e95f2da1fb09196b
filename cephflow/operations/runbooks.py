"""The runbooks cephflow can run: list them, read one, and validate files.

``list_runbooks`` and ``show_runbook`` read the search path; ``validate`` reports every
problem of every file it is given (or of every runbook of the search path), file by file,
so a front end can show each verdict as soon as it is known.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cephflow import tasks
from cephflow.errors import CephflowError, Problem, RunbookError, RunbookNotFound
from cephflow.operations.plan import search_path
from cephflow.runbook import library
from cephflow.runbook.compiler import Compiler
from cephflow.runbook.library import Loaded
from cephflow.settings import SHIPPED_RUNBOOKS


@dataclass(frozen=True)
class RunbookEntry:
    """One runbook of the search path, as a listing shows it."""

    name: str
    path: Path
    description: str | None
    """None when the file does not load (``problem`` says why)."""
    problem: Problem | None
    shipped: bool
    """Whether it is one of cephflow's own runbooks (others show where they come from)."""


@dataclass(frozen=True)
class Validation:
    """The verdict on one runbook given to ``validate``."""

    given: Path
    """What was asked for: a file or a runbook name."""
    path: Path | None
    """The file checked; None when ``given`` is neither a file nor a runbook name."""
    problems: list[Problem]
    """Every problem found, sorted and without repeats; empty when it is valid."""

    @property
    def ok(self) -> bool:
        return self.path is not None and not self.problems


def list_runbooks() -> list[RunbookEntry]:
    """The runbooks of the search path, by name, each with its description or first problem."""
    entries = []
    shipped = SHIPPED_RUNBOOKS.resolve()
    for name, path in sorted(library.available(search_path()).items()):
        try:
            description, problem = library.load(path).decl.description, None
        except RunbookError as exc:
            description, problem = None, exc.problems[0]
        entries.append(RunbookEntry(name, path, description, problem,
                                    shipped=path.parent.resolve() == shipped))
    return entries


def show_runbook(name: str) -> Loaded:
    """Load the runbook ``name`` (a name or a file) strictly; RunbookNotFound or RunbookError."""
    return Compiler(search_path=search_path()).load(name)


def validate(files: Sequence[Path] = ()) -> Iterator[Validation]:
    """Check ``files`` (default: every runbook of the search path), yielding one verdict each."""
    tasks.load_all()
    where = search_path()
    compiler = Compiler(search_path=where)
    for given in files or list(library.available(where).values()):
        try:
            path = given if given.is_file() else library.find(str(given), where)
        except RunbookNotFound:
            yield Validation(given, None, [])
            continue
        yield Validation(given, path, sorted(set(_problems(path, compiler))))


def _problems(path: Path, compiler: Compiler) -> list[Problem]:
    try:
        loaded = compiler.load(path, strict=False)
    except RunbookError as exc:
        return list(exc.problems)
    problems = compiler.check(loaded)
    if problems:
        return problems
    decl = loaded.decl
    needs_values = any(p.is_required for p in decl.params.values())
    if decl.discover or needs_values:
        return []  # compiling needs params or the cluster: the static checks are what we can do
    try:
        compiler.compile(loaded, {})
    except RunbookError as exc:
        return list(exc.problems)
    except CephflowError as exc:
        return [Problem(loaded.file, 1, 1, str(exc))]
    return []
