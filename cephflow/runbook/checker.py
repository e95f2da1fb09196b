"""Static checks of a runbook: everything that can be wrong without parameter values.

``validate`` and the compiler both run these before expanding anything: unknown tasks and
lookups, unknown or missing arguments, literal arguments of the wrong type, duplicate step
ids, ``after`` naming no step, dependency cycles, template syntax and undefined variables,
bad parameter defaults, and includes (missing, cyclic, with unknown or missing params).
Every problem found is returned; nothing is raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cephflow.errors import Problem, RunbookError, RunbookNotFound
from cephflow.runbook import args as argcheck
from cephflow.runbook import library, types
from cephflow.runbook.catalog import LookupSpec, TaskSpec
from cephflow.runbook.model import StepDecl
from cephflow.runbook.templates import (
    STEPS,
    TemplateProblem,
    Templates,
    condition_template,
    is_template,
)
from cephflow.suggest import did_you_mean
from cephflow.task_names import APPROVAL_TASK


@dataclass
class Scope:
    """What checking (and compiling) needs besides the runbook itself."""

    catalog: Mapping[str, TaskSpec]
    lookups: Mapping[str, LookupSpec]
    search_path: list[Path]
    templates: Templates = field(default_factory=Templates)
    loaded: dict[Path, library.Loaded] = field(default_factory=dict)

    def load(self, path: Path) -> library.Loaded:
        if path not in self.loaded:
            self.loaded[path] = library.load(path)
        return self.loaded[path]


def sections(loaded: library.Loaded) -> list[tuple[str, int, StepDecl]]:
    """Every step with the section (``steps`` or ``finally``) and index it sits at."""
    decl = loaded.decl
    return [("steps", i, s) for i, s in enumerate(decl.steps)] + [
        ("finally", i, s) for i, s in enumerate(decl.finally_)
    ]


def reads_outputs(decl: Any) -> bool:
    """Whether ``steps`` in this runbook's templates means step outputs: not when a param
    or a lookup has that name (it keeps its old meaning there, so older runbooks compile as
    before)."""
    return STEPS not in decl.params and STEPS not in decl.discover


def runtime_foreach(step: StepDecl, templates: Templates, outputs: bool = True) -> bool:
    """A ``foreach`` over step outputs: expanded by the worker when the step is ready."""
    if not outputs or not isinstance(step.foreach, str) or not is_template(step.foreach):
        return False
    try:
        return STEPS in templates.variables(step.foreach)
    except TemplateProblem:
        return False


def settled(place: str) -> str:
    """Why a value decided at compile time cannot read a step's output."""
    if place == "when":
        return "when is decided when the runbook is compiled; use if: to decide at run time"
    return (f"{place} is decided when the runbook is compiled: it cannot read step outputs "
            "(steps.<name>)")


@dataclass
class Reads:
    """What a step may read with ``steps.<name>``: the steps it runs after (transitively)."""

    step: StepDecl
    section: str
    ids: set[str]
    """The steps of the step's own section."""
    before: set[str]
    """The steps it runs after, through ``after`` and ``needs``, transitively."""
    includes: set[str]


def contains_template(value: Any) -> bool:
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, list):
        return any(contains_template(v) for v in value)
    if isinstance(value, dict):
        return any(contains_template(v) for v in value.values())
    return False


def approval_args(step: StepDecl, runbook: str) -> tuple[dict[str, Any], Any]:
    """The gate's arguments and timeout from a step's ``approval:`` shorthand."""
    value = step.approval
    if isinstance(value, dict):
        gate = dict(value)
        timeout = gate.pop("timeout", None)
        gate.setdefault("message", f"Approve step {step.id!r} of runbook {runbook!r}?")
        return gate, timeout
    if isinstance(value, str):
        return {"message": value}, None
    return {"message": f"Approve step {step.id!r} of runbook {runbook!r}?"}, None


class Checker:
    """Collects the static problems of one runbook file (and of the files it includes)."""

    def __init__(self, loaded: library.Loaded, scope: Scope, stack: tuple[Path, ...] = ()):
        self.loaded = loaded
        self.doc = loaded.doc
        self.decl = loaded.decl
        self.scope = scope
        self.stack = (*stack, loaded.path)
        self.problems: list[Problem] = []
        self.outputs = reads_outputs(self.decl)

    def add(self, path: tuple[Any, ...], message: str, *, key: bool = False, hint: str | None = None):
        self.problems.append(self.doc.problem(path, message, key=key, hint=hint))

    def run(self) -> list[Problem]:
        base = set(self.decl.params) | {"params"} | self.loaded.broken
        self._params()
        known = set(base)
        for name, d in self.decl.discover.items():
            self._discover(name, d, known)
            known.add(name)
        for i, lock in enumerate(self.decl.locks):
            self._template(("locks", i), lock, known, refuse=settled("a lock"))
        self._steps(known)
        return self.problems

    # -- params and discover -------------------------------------------------------------
    def _params(self) -> None:
        for name in self.decl.discover:
            if name in self.decl.params or name == "params":
                self.add(("discover", name), f"discover {name!r} has the name of a param",
                         key=True)
        for name, p in self.decl.params.items():
            if name == "params":
                self.add(("params", name), "the param name 'params' is reserved (templates "
                         "see every param under it)", key=True)
            ptype = p.ptype
            choices = []
            for i, choice in enumerate(p.choices or []):
                try:
                    choices.append(types.coerce(ptype, choice) if not ptype.is_list
                                   else types.coerce(types.ParamType(ptype.scalar), choice))
                except ValueError as exc:
                    self.add(("params", name, "choices", i), f"param {name!r}: choice {exc}")
            if p.default is None:
                continue
            try:
                value = types.coerce(ptype, p.default)
            except ValueError as exc:
                self.add(("params", name, "default"), f"param {name!r}: default: {exc}")
                continue
            values = value if ptype.is_list else [value]
            for v in values:
                if p.choices and v not in choices:
                    self.add(("params", name, "default"),
                             f"param {name!r}: default {v!r} is not one of the choices")

    def _discover(self, name: str, d: Any, known: set[str]) -> None:
        path = ("discover", name)
        spec = self.scope.lookups.get(d.lookup)
        if spec is None:
            self.add((*path, "lookup"), f"discover {name!r}: unknown lookup {d.lookup!r}",
                     hint=did_you_mean(d.lookup, self.scope.lookups))
        else:
            self._args((*path, "with"), f"discover {name!r}", d.with_, spec.params)
        self._walk_templates((*path, "with"), d.with_, known, refuse=settled("discover"))

    # -- steps -------------------------------------------------------------------------------
    def _steps(self, known: set[str]) -> None:
        seen: dict[str, tuple[str, int]] = {}
        main_ids = {s.id for s in self.decl.steps}
        final_ids = {s.id for s in self.decl.finally_}
        broken = self.loaded.broken  # invalid steps: reported already, not "unknown" here
        for section, i, step in sections(self.loaded):
            path = self.loaded.step_path(section, i)
            if step.id in seen:
                line, _ = self.doc.where((*seen[step.id], "id"))
                self.add((*path, "id"), f"duplicate step id {step.id!r} (first at line {line})")
            else:
                seen[step.id] = path
            if step.approval is not None and step.approval is not False:
                gate_id = f"approve-{step.id}"
                if gate_id in main_ids | final_ids:
                    self.add((*path, "approval"),
                             f"step {step.id!r}: its approval gate {gate_id!r} clashes with a step id")
            targets = main_ids if section == "steps" else final_ids
            for j, dep in enumerate(step.after):
                if dep not in targets and dep not in broken:
                    where = "finally step" if section == "finally" else "step"
                    hint = did_you_mean(dep, targets)
                    if section == "steps" and dep in final_ids:
                        hint = "finally steps run last; a step cannot wait for one"
                    elif section == "finally" and dep in main_ids:
                        hint = "finally steps wait for the main steps anyway; name only finally steps"
                    self.add((*path, "after", j), f"step {step.id!r}: 'after' names no {where} "
                             f"{dep!r}", hint=hint)
            for j, dep in enumerate(step.needs):
                if dep not in targets and dep not in broken:
                    self.add((*path, "needs", j), f"step {step.id!r}: 'needs' names no step "
                             f"{dep!r} of its section", hint=did_you_mean(dep, targets))
                elif any(s.id == dep and s.include is not None for s in self.decl.steps):
                    self.add((*path, "needs", j), f"step {step.id!r}: 'needs' names the "
                             f"include {dep!r}; name a step that runs a task")
            section_steps = self.decl.steps if section == "steps" else self.decl.finally_
            reads = Reads(step, section, targets, _before(step.id, section_steps),
                          {s.id for s in section_steps if s.include is not None})
            self._step(path, step, known, reads)
        self._cycles("steps", self.decl.steps)
        self._cycles("finally", self.decl.finally_)

    def _step(self, path: tuple[Any, ...], step: StepDecl, known: set[str],
              reads: Reads) -> None:
        runtime = runtime_foreach(step, self.scope.templates, self.outputs)
        inner = known | {step.as_} if step.foreach is not None else known
        out = reads if self.outputs else None
        if step.foreach is not None:
            if isinstance(step.foreach, list):
                self._walk_templates((*path, "foreach"), step.foreach, known,
                                     refuse=settled("a foreach list"))
            else:
                self._template((*path, "foreach"), step.foreach, known, reads=out)
        if isinstance(step.label, str):
            self._template((*path, "label"), step.label, inner,
                           reads=out if runtime else None,
                           refuse=settled("the label of a fan-out known when compiled"))
        for key in ("timeout", "concurrency"):
            value = getattr(step, key)
            if isinstance(value, str):
                self._template((*path, key), value, known, refuse=settled(key))
        if isinstance(step.when, str):
            # a runtime fan-out decides 'when' once for the whole step: no item yet
            self._template((*path, "when"), condition_template(step.when),
                           known if runtime else inner, refuse=settled("when"))
        if isinstance(step.if_, str):
            self._template((*path, "if"), condition_template(step.if_), inner, reads=out)
        if step.include is not None:
            self._walk_templates((*path, "with"), step.with_, inner,
                                 refuse=settled("an include's with"))
            self._include(path, step)
            return
        self._walk_templates((*path, "with"), step.with_, inner, reads=out)
        assert step.task is not None
        spec = self.scope.catalog.get(step.task)
        if spec is None:
            self.add((*path, "task"), f"step {step.id!r}: unknown task {step.task!r}",
                     hint=did_you_mean(step.task, self.scope.catalog))
        else:
            self._args((*path, "with"), f"step {step.id!r}", step.with_, spec.params)
        if step.approval is not None and step.approval is not False:
            gate, timeout = approval_args(step, self.decl.name)
            self._walk_templates((*path, "approval"), gate, known, refuse=settled("approval"))
            if timeout is not None and not is_template(timeout):
                try:
                    types.parse_duration(timeout)
                except ValueError as exc:
                    self.add((*path, "approval", "timeout"), f"step {step.id!r}: approval timeout: {exc}")
            spec = self.scope.catalog.get(APPROVAL_TASK)
            if spec is None:
                self.add((*path, "approval"), f"step {step.id!r}: approval gates need the task "
                         f"{APPROVAL_TASK!r}, which is not installed")
            else:
                self._args((*path, "approval"), f"step {step.id!r}: approval", gate, spec.params)

    def _args(self, path: tuple[Any, ...], what: str, given: dict[str, Any], params: Any) -> None:
        for message, key, hint in argcheck.name_problems(given, params):
            if key is not None:
                self.add((*path, key), f"{what}: {message}", key=True, hint=hint)
            else:
                self.add(path, f"{what}: {message}", key=True)
        for name, value in given.items():
            if name in params and not contains_template(value):
                try:
                    argcheck.check_value(params[name], value)
                except ValueError as exc:
                    self.add((*path, name), f"{what}: {exc}")

    def _include(self, path: tuple[Any, ...], step: StepDecl) -> None:
        assert step.include is not None
        try:
            target = library.find(step.include, self.scope.search_path,
                                  relative_to=self.loaded.path.parent)
        except RunbookNotFound as exc:
            self.add((*path, "include"), f"step {step.id!r}: include: {exc.args[0]}",
                     hint=exc.hint)
            return
        if target in self.stack:
            chain = " -> ".join(library.display_path(p) for p in (*self.stack, target))
            self.add((*path, "include"), f"step {step.id!r}: include cycle: {chain}")
            return
        try:
            other = self.scope.load(target)
        except RunbookError as exc:
            self.problems.extend(exc.problems)
            return
        self.problems.extend(Checker(other, self.scope, self.stack).run())
        declared = other.decl.params
        for name in step.with_:
            if name not in declared:
                self.add((*path, "with", name), f"step {step.id!r}: runbook "
                         f"{other.decl.name!r} has no param {name!r}", key=True,
                         hint=did_you_mean(name, declared))
            elif not contains_template(step.with_[name]):
                try:
                    types.coerce(declared[name].ptype, step.with_[name])
                except ValueError as exc:
                    self.add((*path, "with", name), f"step {step.id!r}: param {name!r}: {exc}")
        for name, p in declared.items():
            if p.is_required and name not in step.with_:
                self.add((*path, "include"), f"step {step.id!r}: runbook {other.decl.name!r} "
                         f"needs param {name!r}")

    def _cycles(self, section: str, steps: list[StepDecl]) -> None:
        graph = {s.id: s.waits for s in steps}
        index = {s.id: i for i, s in enumerate(steps)}
        state: dict[str, int] = {}
        reported: set[frozenset[str]] = set()

        def visit(node: str, trail: list[str]) -> None:
            state[node] = 1
            trail.append(node)
            for dep in graph.get(node, ()):
                if dep not in graph:
                    continue
                if state.get(dep) == 1:
                    cycle = trail[trail.index(dep):] + [dep]
                    key = frozenset(cycle)
                    if key not in reported:
                        reported.add(key)
                        ring = cycle[:-1]
                        first = min(ring, key=index.__getitem__)
                        start = ring.index(first)
                        ordered = ring[start:] + ring[:start] + [first]
                        waiting = steps[index[first]]
                        key_, j = (("after", waiting.after.index(ordered[1]))
                                   if ordered[1] in waiting.after
                                   else ("needs", waiting.needs.index(ordered[1])))
                        self.add((*self.loaded.step_path(section, index[first]), key_, j),
                                 "dependency cycle: " + " -> ".join(ordered) + " (each waits for the next)")
                elif state.get(dep) is None:
                    visit(dep, trail)
            trail.pop()
            state[node] = 2

        for s in steps:
            if s.id not in state:
                visit(s.id, [])

    # -- templates -----------------------------------------------------------------------
    def _template(self, path: tuple[Any, ...], text: Any, known: set[str], *,
                  reads: Reads | None = None, refuse: str | None = None) -> None:
        """Check one template: syntax, variables, and (``reads``) the step outputs it reads;
        where no step output can be read, ``refuse`` says why ``steps`` is not there."""
        if not is_template(text):
            return
        templates = self.scope.templates
        try:
            templates.check(text, known | {STEPS} if reads is not None else known)
        except TemplateProblem as exc:
            if (refuse and self.outputs and STEPS not in known
                    and exc.message == f"undefined variable {STEPS!r}"):
                self.add(path, refuse)
            else:
                self.add(path, exc.message, hint=exc.hint)
            return
        if reads is None:
            return
        try:
            names = templates.step_reads(text)
        except TemplateProblem as exc:
            self.add(path, f"step {reads.step.id!r}: {exc.message}", hint=exc.hint)
            return
        for name in sorted(names):
            self._read(path, name, reads)

    def _read(self, path: tuple[Any, ...], name: str, reads: Reads) -> None:
        """One ``steps.<name>``: a step of the same section that this one runs after."""
        what = f"step {reads.step.id!r}"
        if name in self.loaded.broken:
            return
        if name == reads.step.id:
            self.add(path, f"{what} reads its own output (steps.{name})")
        elif name not in reads.ids:
            hint = did_you_mean(name, reads.ids)
            if hint is None and reads.section == "finally":
                hint = "finally steps can read only the outputs of finally steps"
            self.add(path, f"{what} reads steps.{name}: no step {name!r} in "
                     f"{'finally' if reads.section == 'finally' else 'steps'}", hint=hint)
        elif name in reads.includes:
            self.add(path, f"{what} reads steps.{name}: {name!r} is an include, which has "
                     "no output of its own")
        elif name not in reads.before:
            self.add(path, f"{what} reads the output of {name!r} but does not run after it",
                     hint=f"add {name!r} to after")

    def _walk_templates(self, path: tuple[Any, ...], value: Any, known: set[str], *,
                        reads: Reads | None = None, refuse: str | None = None) -> None:
        if isinstance(value, str):
            self._template(path, value, known, reads=reads, refuse=refuse)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self._walk_templates((*path, i), item, known, reads=reads, refuse=refuse)
        elif isinstance(value, dict):
            for k, item in value.items():
                self._walk_templates((*path, k), item, known, reads=reads, refuse=refuse)


def _before(step_id: str, steps: list[StepDecl]) -> set[str]:
    """The steps ``step_id`` runs after, through ``after`` and ``needs``, transitively."""
    graph = {s.id: s.waits for s in steps}
    found: set[str] = set()
    todo = list(graph.get(step_id, ()))
    while todo:
        dep = todo.pop()
        if dep in found or dep not in graph:
            continue
        found.add(dep)
        todo.extend(graph[dep])
    found.discard(step_id)  # a cycle is reported on its own
    return found
