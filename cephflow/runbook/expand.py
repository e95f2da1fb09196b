"""Expand one runbook file (the top one or an include) into nodes: the compiler's engine room.

``Unit.run`` does, in order: ``discover`` lookups, locks, then each step in dependency
order (``when``, ``foreach``, rendered and type-checked arguments, retry, timeout, approval
gate, include). Problems are recorded with their position and expansion goes on with the
next step, so every problem of a file is found in one pass.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from cephflow.errors import CephflowError, ExitStatus, NoClusterConfigured, Problem
from cephflow.runbook import args as argcheck
from cephflow.runbook import library, types
from cephflow.runbook.barrier import BARRIER_TASK, barrier_id
from cephflow.runbook.catalog import LookupSpec, TaskSpec
from cephflow.runbook.checker import approval_args, reads_outputs, runtime_foreach
from cephflow.runbook.dag import FanOut, Group, Late, Node, RetryPolicy, StepRef
from cephflow.runbook.model import StepDecl
from cephflow.runbook.params import resolve_params
from cephflow.runbook.templates import (
    STEPS,
    TemplateProblem,
    condition_template,
    is_template,
    plain,
    texts,
    truthy,
)
from cephflow.task_names import APPROVAL_TASK

if TYPE_CHECKING:
    from cephflow.runbook.compiler import Compiler


@dataclass
class Part:
    """What compiling one runbook file (the top one or an include) produced."""

    nodes: list[Node] = field(default_factory=list)
    cleanup: list[Node] = field(default_factory=list)
    groups: dict[str, Group] = field(default_factory=dict)
    locks: list[str] = field(default_factory=list)
    discovered: dict[str, Any] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)

    def nodes_of(self, cleanup: bool) -> list[Node]:
        """Where a node goes: the ``finally`` part or the main part."""
        return self.cleanup if cleanup else self.nodes


class Unit:
    """Compiles one loaded runbook file with resolved params under an id prefix."""

    def __init__(self, loaded: library.Loaded, params: dict[str, Any], compiler: Compiler,
                 prefix: str, stack: tuple[Path, ...], skip_all: bool):
        self.loaded = loaded
        self.decl = loaded.decl
        self.doc = loaded.doc
        self.params = params
        self.compiler = compiler
        self.templates = compiler.scope.templates
        self.prefix = prefix
        self.stack = (*stack, loaded.path)
        self.skip_all = skip_all
        self.problems: list[Problem] = []
        self.outputs = reads_outputs(self.decl)
        self.own: dict[str, StepRef] = {}
        """Step name -> its own nodes (no approval gate, no passed-on dependencies), for
        the ``late.reads`` of the steps that read its output; one section at a time."""
        self.part = Part()
        self.part.secrets = {
            str(params[n]) for n, p in self.decl.params.items()
            if p.secret and params.get(n) not in (None, "")
        }

    def add(self, path: tuple[Any, ...], message: str, hint: str | None = None) -> None:
        self.problems.append(self.doc.problem(path, message, hint=hint))

    def render(self, path: tuple[Any, ...], value: Any, ctx: Mapping[str, Any], what: str) -> Any:
        try:
            return self.templates.render(value, ctx)
        except TemplateProblem as exc:
            self.add((*path, *exc.path), f"{what}: {exc.message}", exc.hint)
            raise Failed from exc

    def truth(self, path: tuple[Any, ...], when: Any, ctx: Mapping[str, Any], what: str) -> bool:
        if when is None or isinstance(when, bool):
            return when is not False
        return truthy(self.render(path, condition_template(when), ctx, what))

    # -- the whole file ------------------------------------------------------------------
    def run(self) -> Part:
        ctx: dict[str, Any] = {**self.params, "params": dict(self.params)}
        for name, d in self.decl.discover.items():
            try:
                ctx[name] = self.discover(name, d, ctx)
                self.part.discovered[self.prefix + name] = ctx[name]
            except Failed:
                return self.part
        for i, lock in enumerate(self.decl.locks):
            try:
                self.part.locks.append(str(self.render(("locks", i), lock, ctx, "lock")))
            except Failed:
                pass
        self.section("steps", self.decl.steps, ctx, cleanup=False)
        self.section("finally", self.decl.finally_, ctx, cleanup=True)
        return self.part

    def discover(self, name: str, d: Any, ctx: Mapping[str, Any]) -> Any:
        path = ("discover", name)
        spec: LookupSpec = self.compiler.scope.lookups[d.lookup]
        given = self.render((*path, "with"), d.with_, ctx, f"discover {name!r}")
        kwargs = {}
        for key, value in given.items():
            try:
                kwargs[key] = argcheck.check_value(spec.params[key], value)
            except ValueError as exc:
                self.add((*path, "with", key), f"discover {name!r}: {exc}")
                raise Failed from exc
        try:
            answer = spec.fn(**kwargs)
        except NoClusterConfigured:
            raise  # not the runbook's problem: said as it is, with its way out
        except Exception as exc:  # a lookup is foreign code: report its failure, never crash
            if isinstance(exc, CephflowError) and exc.exit_code == ExitStatus.UNREACHABLE:
                self.compiler.unreachable = True  # the plan failed for want of Ceph: exit 5
            self.add((*path, "lookup"), f"discover {name!r}: lookup {d.lookup!r} failed: {exc}")
            raise Failed from exc
        try:
            return plain(answer)
        except TemplateProblem as exc:
            self.add((*path, "lookup"), f"discover {name!r}: lookup {d.lookup!r} gave "
                     f"{type(answer).__name__}, not plain data")
            raise Failed from exc

    def section(self, section: str, steps: list[StepDecl], ctx: dict[str, Any], *, cleanup: bool):
        produced: dict[str, list[str]] = {}
        barriers: dict[str, str] = {}
        self.own = {}
        for i in _order(steps):
            step = steps[i]
            wanted: dict[str, None] = {}
            for dep in step.waits:
                ids = produced.get(dep, ())
                if step.foreach is not None and len(ids) > 1 and self.barrier_task:
                    if dep not in barriers:
                        barriers[dep] = self.barrier(dep, ids, cleanup)
                    ids = [barriers[dep]]
                wanted.update(dict.fromkeys(ids))
            deps = list(wanted)
            try:
                if step.include is not None:
                    produced[step.id] = self.include(self.loaded.step_path(section, i), step,
                                                     ctx, deps, cleanup)
                else:
                    produced[step.id] = self.task(self.loaded.step_path(section, i), step,
                                                  ctx, deps, cleanup)
            except Failed:
                produced[step.id] = deps

    @property
    def barrier_task(self) -> TaskSpec | None:
        return self.compiler.scope.catalog.get(BARRIER_TASK)

    def barrier(self, dep: str, ids: list[str], cleanup: bool) -> str:
        """A no-op node ``dep[*]`` that waits for every node of ``dep``.

        A fan-out that waits for a fan-out would otherwise need N x M edges (25 million for
        two 5,000-way fan-outs); through the barrier it needs N + M.
        """
        node = Node.model_construct(
            id=barrier_id(self.prefix + dep), step=self.prefix + dep, task=BARRIER_TASK, args={},
            after=list(ids), retry=RetryPolicy(), timeout=None, cleanup=cleanup, skip=False,
            group=None, label=None, secret_args=[],
        )
        self.part.nodes_of(cleanup).append(node)
        return node.id

    # -- a task step ---------------------------------------------------------------------
    def task(self, path: tuple[Any, ...], step: StepDecl, ctx: dict[str, Any],
             deps: list[str], cleanup: bool) -> list[str]:
        """The step's nodes (after its approval gate, if it has one); returns the ids that
        the steps after it wait for."""
        spec: TaskSpec = self.compiler.scope.catalog[step.task]  # type: ignore[index]
        what = _what(step)
        out = self.part.nodes_of(cleanup)
        shared = _NodeFields(
            step=self.prefix + step.id, retry=_retry_policy(step),
            timeout=self.duration((*path, "timeout"), step.timeout, ctx, what), cleanup=cleanup,
        )
        runtime = runtime_foreach(step, self.templates, self.outputs)
        skip_step = self.skip_all
        if (step.foreach is None or runtime) and not skip_step:
            skip_step = not self.truth((*path, "when"), step.when, ctx, what)
        elif step.when is False:
            skip_step = True
        if step.approval is not None and step.approval is not False:
            gate = self.gate(path, step, ctx, deps, cleanup=cleanup, skip=skip_step)
            out.append(gate)
            deps = [gate.id]
        if runtime:
            node = self.expander(path, step, spec, ctx, deps, skip=skip_step, shared=shared)
            out.append(node)
            self.own[step.id] = StepRef(nodes=[node.id], fanout=True)
            return [node.id]
        if step.foreach is not None:
            ids = self.fan_out(path, step, spec, ctx, deps, skip=skip_step, shared=shared)
            self.own[step.id] = StepRef(nodes=list(ids), fanout=True)
            return ids or deps
        late_args = self.late_args(step.with_)
        rendered = self.render((*path, "with"), _without(step.with_, late_args), ctx, what)
        node = self.node((*path, "with"), spec, what, rendered, id=shared["step"], after=deps,
                         skip=skip_step, late=self.late(step, ctx, late_args), **shared)
        out.append(node)
        self.own[step.id] = StepRef(nodes=[node.id])
        return [node.id]

    def late_args(self, given: dict[str, Any]) -> dict[str, Any]:
        """The arguments whose templates read step outputs: left for the worker, unrendered."""
        if not self.outputs:
            return {}
        return {key: value for key, value in given.items()
                if any(STEPS in self.templates.variables(t) for t in texts(value))}

    def late(self, step: StepDecl, ctx: Mapping[str, Any], args: dict[str, Any], *,
             more: tuple[str, ...] = (), hide: tuple[str, ...] = ()) -> Late | None:
        """What the node decides at run time (None: nothing): ``args`` (unrendered), the
        step's ``if:`` and ``needs:``, with the steps they read and the other variables
        their templates (and ``more``) use as this node sees them; ``hide`` are variables
        bound later (a runtime fan-out's item)."""
        condition = condition_template(step.if_) if isinstance(step.if_, str) else None
        if not args and condition is None and not step.needs and not more:
            return None
        templates = [*texts(args), *([condition] if condition else []), *more]
        names: set[str] = set()
        variables: set[str] = set()
        for text in templates:
            variables |= self.templates.variables(text)
            if self.outputs:
                names |= self.templates.step_reads(text)
        names |= set(step.needs)
        variables -= {STEPS, *hide}
        return Late(
            args=dict(args), condition=condition,
            condition_text=step.if_ if condition is not None else None,
            needs=list(step.needs),
            reads={name: self.own.get(name, StepRef()).model_copy(deep=True)
                   for name in sorted(names)},
            vars={name: ctx[name] for name in sorted(variables) if name in ctx},
        )

    def expander(self, path: tuple[Any, ...], step: StepDecl, spec: TaskSpec,
                 ctx: dict[str, Any], deps: list[str], *, skip: bool,
                 shared: _NodeFields) -> Node:
        """A ``foreach`` over step outputs: one node that the worker expands into the
        members when it is ready. Its ``args`` are the arguments without templates; every
        templated one (it may read the item) is rendered per member at run time."""
        what = _what(step)
        step_id = shared["step"]
        late_args = {k: v for k, v in step.with_.items() if texts(v)}
        rendered = self.render((*path, "with"), _without(step.with_, late_args), ctx, what)
        concurrency = self.concurrency(path, step, ctx, what)
        more = (step.foreach, *([step.label] if is_template(step.label) else []))
        late = self.late(step, ctx, late_args, more=more, hide=(step.as_,))
        assert late is not None
        source = " and ".join(sorted(self.templates.step_reads(step.foreach)))
        expand = FanOut(items=step.foreach, var=step.as_, label=step.label,
                        concurrency=concurrency, source=f"the output of {source}")
        self.part.groups[step_id] = Group(id=step_id, concurrency=concurrency)
        return self.node((*path, "with"), spec, what, rendered, id=step_id, after=list(deps),
                         skip=skip, late=late, expand=expand, **shared)

    def gate(self, path: tuple[Any, ...], step: StepDecl, ctx: dict[str, Any],
             deps: list[str], *, cleanup: bool, skip: bool) -> Node:
        """The approval gate the ``approval:`` shorthand puts before the step."""
        what = _what(step)
        gate_args, gate_timeout = approval_args(step, self.decl.name)
        gate_spec = self.compiler.scope.catalog[APPROVAL_TASK]
        rendered = self.render((*path, "approval"), gate_args, ctx, f"{what}: approval")
        return self.node(
            (*path, "approval"), gate_spec, f"{what}: approval", rendered,
            id=f"{self.prefix}approve-{step.id}", step=self.prefix + step.id, after=deps,
            retry=RetryPolicy(),
            timeout=self.duration((*path, "approval", "timeout"), gate_timeout, ctx, what),
            cleanup=cleanup, skip=skip,
        )

    def fan_out(self, path: tuple[Any, ...], step: StepDecl, spec: TaskSpec,
                ctx: dict[str, Any], deps: list[str], *, skip: bool,
                shared: _NodeFields) -> list[str]:
        """One node per ``foreach`` item, labelled, in one group; returns their ids."""
        what = _what(step)
        step_id = shared["step"]
        items = self.render((*path, "foreach"), step.foreach, ctx, what)
        if not isinstance(items, list):
            self.add((*path, "foreach"), f"{what}: foreach gave {type(items).__name__} "
                     f"{_short(items)}, not a list")
            raise Failed
        concurrency = self.concurrency(path, step, ctx, what)
        late_args = self.late_args(step.with_)
        given = _without(step.with_, late_args)
        out = self.part.nodes_of(shared["cleanup"])
        ids: list[str] = []
        seen: dict[str, int] = {}
        failed = False
        for n, item in enumerate(items):
            ictx = {**ctx, step.as_: item}
            try:
                label = self.label(path, step, ictx, item, n, seen)
                where = f"{what} [{label}]"
                item_skip = skip or not self.truth((*path, "when"), step.when, ictx, where)
                rendered = self.render((*path, "with"), given, ictx, where)
                node = self.node((*path, "with"), spec, where, rendered,
                                 id=f"{step_id}[{label}]", after=list(deps), skip=item_skip,
                                 group=step_id, label=label,
                                 late=self.late(step, ictx, late_args), **shared)
            except Failed:
                failed = True
                if len(self.problems) > 50:
                    break
                continue
            out.append(node)
            ids.append(node.id)
        if failed:
            raise Failed
        if ids:
            self.part.groups[step_id] = Group(id=step_id, concurrency=concurrency)
        return ids

    def concurrency(self, path: tuple[Any, ...], step: StepDecl, ctx: Mapping[str, Any],
                    what: str) -> int | None:
        """The fan-out's limit: as written, or rendered and checked when it is a template."""
        concurrency = step.concurrency
        if isinstance(concurrency, str):
            concurrency = self.render((*path, "concurrency"), concurrency, ctx, what)
            try:
                concurrency = types.coerce(types.ParamType("int"), concurrency)
                if concurrency < 1:
                    raise ValueError(f"expected a whole number >= 1, got {concurrency!r}")
            except ValueError as exc:
                self.add((*path, "concurrency"), f"{what}: concurrency: {exc}")
                raise Failed from exc
        return concurrency

    def label(self, path: tuple[Any, ...], step: StepDecl, ictx: Mapping[str, Any], item: Any,
              n: int, seen: dict[str, int]) -> str:
        """Item ``n``'s label (its ``label:`` rendered, else the item or its index), refused
        when an earlier item of ``seen`` has it already."""
        what = _what(step)
        if step.label is not None:
            label = str(self.render((*path, "label"), step.label, ictx, what))
        else:
            label = str(item) if isinstance(item, str | int | float | bool) else str(n)
        if label in seen:
            self.add((*path, "label" if step.label else "foreach"),
                     f"{what}: items {seen[label]} and {n} both have the label {label!r}"
                     + ("" if step.label else "; set 'label' to tell them apart"))
            raise Failed
        seen[label] = n
        return label

    def duration(self, path: tuple[Any, ...], value: Any, ctx: Mapping[str, Any], what: str):
        if value is None:
            return None
        if isinstance(value, str):
            value = self.render(path, value, ctx, what)
        try:
            return float(types.parse_duration(value))
        except ValueError as exc:
            self.add(path, f"{what}: {exc}")
            raise Failed from exc

    def node(self, path: tuple[Any, ...], spec: TaskSpec, what: str, rendered: dict[str, Any],
             **fields: Any) -> Node:
        args: dict[str, Any] = {}
        secret_args: list[str] = []
        bad = False
        for key, value in rendered.items():
            pspec = spec.params[key]
            try:
                args[key] = argcheck.check_value(pspec, value)
            except ValueError as exc:
                if pspec.secret or (self.secrets and _mentions(value, self.secrets)):
                    self.add((*path, key), f"{what}: argument {key!r}: not a valid "
                             f"{_type_name(pspec.annotation)} (value hidden: secret)")
                else:
                    self.add((*path, key), f"{what}: {exc}")
                bad = True
                continue
            if pspec.secret and isinstance(value, str) and value:
                self.compiler.secrets.add(value)  # the task says it is one: mask it too
            if pspec.secret or (self.secrets and _mentions(value, self.secrets)):
                secret_args.append(key)
        if bad:
            raise Failed
        late = fields.get("late")
        if late is not None:  # once rendered, a declared secret is hidden like any other
            secret_args += [key for key in late.args if spec.params[key].secret]
        fields.setdefault("group", None)
        fields.setdefault("label", None)
        fields.setdefault("late", None)
        fields.setdefault("expand", None)
        return Node.model_construct(task=spec.name, args=args, secret_args=secret_args,
                                    redo_on_resume=spec.redo_on_resume, **fields)

    @property
    def secrets(self) -> set[str]:
        return self.compiler.secrets

    # -- an include ------------------------------------------------------------------------
    def include(self, path: tuple[Any, ...], step: StepDecl, ctx: dict[str, Any],
                deps: list[str], cleanup: bool) -> list[str]:
        what = _what(step)
        target = library.find(step.include or "", self.compiler.scope.search_path,
                              relative_to=self.loaded.path.parent)
        other = self.compiler.scope.load(target)
        given = self.render((*path, "with"), step.with_, ctx, what)
        values, errors = resolve_params(other.decl, given)
        for _, message in errors:
            self.add((*path, "with"), f"{what}: include {step.include!r}: {message}")
        if errors:
            raise Failed
        skip = self.skip_all or not self.truth((*path, "when"), step.when, ctx, what)
        unit = Unit(other, values, self.compiler, f"{self.prefix}{step.id}.", self.stack, skip)
        self.compiler.secrets |= unit.part.secrets
        part = unit.run()
        self.problems.extend(unit.problems)
        if unit.problems:
            raise Failed
        inner = {n.id for n in part.nodes}
        waited = {d for n in part.nodes for d in n.after}
        for n in part.nodes:
            if not any(d in inner for d in n.after):
                n.after = [*deps, *n.after]
        if cleanup:
            # an include under finally: everything it holds is cleanup
            for n in part.nodes:
                n.cleanup = True
            self.part.cleanup.extend(part.nodes)
        else:
            self.part.nodes.extend(part.nodes)
        self.part.cleanup.extend(part.cleanup)
        self.part.groups.update(part.groups)
        self.part.locks.extend(part.locks)
        self.part.discovered.update(part.discovered)
        sinks = [n.id for n in part.nodes if n.id not in waited]
        return sinks or deps


class _NodeFields(TypedDict):
    """The fields every node of one task step shares (its gate aside)."""

    step: str
    retry: RetryPolicy
    timeout: float | None
    cleanup: bool


def _without(given: dict[str, Any], late: dict[str, Any]) -> dict[str, Any]:
    """The arguments the compiler renders: those not left for run time."""
    return {key: value for key, value in given.items() if key not in late}


def _what(step: StepDecl) -> str:
    """How problems name the step."""
    return f"step {step.id!r}"


def _retry_policy(step: StepDecl) -> RetryPolicy:
    if step.retry is None:
        return RetryPolicy()
    return RetryPolicy(attempts=step.retry.attempts, backoff=step.retry.backoff,
                       factor=step.retry.factor, max_backoff=step.retry.max_backoff)


class Failed(Exception):
    """A problem was recorded; stop expanding this step."""


def _order(steps: list[StepDecl]) -> list[int]:
    """Step indexes in dependency order, ties broken by position in the file (stable)."""
    index = {s.id: i for i, s in enumerate(steps)}
    waiting = {i: {index[d] for d in s.waits if d in index} for i, s in enumerate(steps)}
    dependents: dict[int, list[int]] = {i: [] for i in waiting}
    for i, deps in waiting.items():
        for d in deps:
            dependents[d].append(i)
    ready = [i for i, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for j in dependents[i]:
            waiting[j].discard(i)
            if not waiting[j]:
                heapq.heappush(ready, j)
    return order


def _mentions(value: Any, secrets: set[str]) -> bool:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return any(secret in text for secret in secrets)


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
