"""Compile a runbook with parameters into a concrete, deterministic ``Dag``.

Order of work: static checks (``checker``), parameters, ``discover`` lookups, locks, then
each step in dependency order: ``when``, ``foreach`` expansion, rendered and type-checked
arguments, retry and timeout, approval gates, includes. Problems are collected across the
whole runbook and raised together as one ``RunbookError``.

Node ids: ``step`` / ``step[label]`` under ``foreach`` / ``inc.step`` from ``include: inc``
/ ``approve-step`` for an approval gate. A step that waits for a fan-out waits for every
member (fan-in); a fan-out that waits for a fan-out waits for a no-op barrier node
``dep[*]`` instead of N x M edges. A step that produced no nodes (an empty fan-out) passes
its own dependencies on, so ordering is never lost. ``finally`` steps become cleanup nodes that
depend only on other cleanup nodes: the engine starts them once the main part has ended.

What a step decides when it becomes ready is left as templates on its node: arguments that
read ``steps.<name>`` outputs, ``if:`` and ``needs:`` go into ``Node.late`` (with the nodes
of the steps read and the other variables as compiled), and a ``foreach`` over an output
becomes one expander node with ``Node.expand``, which the worker turns into the members.

The compiler knows nothing of Ceph, Redis or Celery: tasks and lookups come from the
catalog, which tests can fill with their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cephflow.errors import ExitStatus, ParamError, Problem, RunbookError
from cephflow.runbook import library
from cephflow.runbook.catalog import CATALOG, LOOKUPS, LookupSpec, TaskSpec
from cephflow.runbook.checker import Checker, Scope
from cephflow.runbook.dag import REDACTED, Dag, Node
from cephflow.runbook.expand import BARRIER_TASK, Unit
from cephflow.runbook.params import resolve_params
from cephflow.settings import get_settings

__all__ = ["BARRIER_TASK", "Compiler", "compile_runbook", "resolve_params"]


class Compiler:
    """Checks and compiles runbooks against a task catalog and a set of lookups."""

    def __init__(self, *, catalog: Mapping[str, TaskSpec] | None = None,
                 lookups: Mapping[str, LookupSpec] | None = None,
                 search_path: list[Path] | None = None):
        if search_path is None:
            search_path = get_settings().runbook_search_path()
        self.scope = Scope(catalog=CATALOG if catalog is None else catalog,
                           lookups=LOOKUPS if lookups is None else lookups,
                           search_path=search_path)
        self.secrets: set[str] = set()
        self.unreachable = False
        """Whether a plan-time lookup of the last compile could not reach Ceph."""

    def load(self, name_or_path: str | Path, *, strict: bool = True) -> library.Loaded:
        """Find and load a runbook; RunbookNotFound or RunbookError.

        ``strict=False`` keeps a file with invalid entries (see ``library.load``):
        ``check`` and ``compile`` then report its schema problems together with the
        problems of its valid part.
        """
        if isinstance(name_or_path, Path) and name_or_path.is_file():
            path = name_or_path.resolve()
        else:
            path = library.find(str(name_or_path), self.scope.search_path)
        if strict:
            return self.scope.load(path)
        return library.load(path, strict=False)

    def check(self, loaded: library.Loaded) -> list[Problem]:
        """The static problems of a loaded runbook (and of what it includes)."""
        return sorted(set(loaded.problems) | set(Checker(loaded, self.scope).run()))

    def compile(self, loaded: library.Loaded, params: Mapping[str, Any] | None = None) -> Dag:
        """The concrete DAG; RunbookError (the file's problems) or ParamError (bad params)."""
        problems = self.check(loaded)
        if problems:
            raise RunbookError(problems)
        values, errors = resolve_params(loaded.decl, dict(params or {}))
        if errors:
            raise ParamError("\n".join(_param_problem(loaded, name, message)
                                       for name, message in errors))
        self.secrets = set()
        self.unreachable = False
        unit = Unit(loaded, values, self, "", (), False)
        self.secrets |= unit.part.secrets
        part = unit.run()
        if unit.problems:
            raise RunbookError(sorted(set(unit.problems)),
                               exit_code=ExitStatus.UNREACHABLE if self.unreachable else None)
        nodes = part.nodes + part.cleanup
        problems = _duplicate_ids(nodes, loaded)
        if problems:
            raise RunbookError(problems)
        shown = {
            name: REDACTED if loaded.decl.params[name].secret and value not in (None, "") else value
            for name, value in values.items()
        }
        locks = list(dict.fromkeys(part.locks))
        return Dag.model_construct(
            runbook=loaded.decl.name, source=loaded.file, description=loaded.decl.description,
            params=shown, discovered=part.discovered, locks=locks,
            moves_data=_moves_data(loaded.decl.moves_data, nodes, self.scope.catalog),
            groups=part.groups, nodes=nodes,
            secrets=sorted(self.secrets),
        )


def _moves_data(declared: bool | None, nodes: list[Node],
                catalog: Mapping[str, TaskSpec]) -> bool:
    """The runbook's ``moves_data`` when it says (explicit wins); else whether one of its
    steps' tasks moves data."""
    if declared is not None:
        return declared
    return any(spec.moves_data for n in nodes if (spec := catalog.get(n.task)) is not None)


def _param_problem(loaded: library.Loaded, name: str, message: str) -> str:
    """A bad param value, pointed at the param's declaration (or ``params:`` if undeclared)."""
    where = ("params", name) if name in loaded.decl.params else ("params",)
    line, column = loaded.doc.where(where, key=True)
    return f"{loaded.file}:{line}:{column}: {message} (given on the command line)"


def _duplicate_ids(nodes: list[Node], loaded: library.Loaded) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for n in nodes:
        if n.id in seen:
            problems.append(Problem(loaded.file, 1, 1, f"two nodes have the id {n.id!r}"))
        seen.add(n.id)
    return problems


def compile_runbook(name_or_path: str | Path, params: Mapping[str, Any] | None = None, *,
                    catalog: Mapping[str, TaskSpec] | None = None,
                    lookups: Mapping[str, LookupSpec] | None = None,
                    search_path: list[Path] | None = None) -> Dag:
    """Find, check and compile a runbook in one call (what ``plan`` and ``run`` do)."""
    compiler = Compiler(catalog=catalog, lookups=lookups, search_path=search_path)
    return compiler.compile(compiler.load(name_or_path, strict=False), params)
