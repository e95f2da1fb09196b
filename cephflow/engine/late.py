"""What a node decides when it becomes ready: its ``if:``, its ``needs``, the arguments
that read step outputs, and a runtime fan-out's members.

The compiler leaves these templates unrendered (``Node.late``, ``Node.expand``); the worker
renders them here, in the same sandbox and with the same rules as the compiler, over the
variables the compiler saw (``late.vars``) and ``steps``: the outputs of the steps the node
reads, fetched from Redis in two round trips whatever their number. A problem here fails the
step with a message naming the template and the key it missed; it never reaches the engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from cephflow.engine import keys
from cephflow.engine.state import NodeState
from cephflow.errors import StepFailed
from cephflow.runbook import args as argcheck
from cephflow.runbook.catalog import CATALOG
from cephflow.runbook.dag import FanOut, Late
from cephflow.runbook.templates import TemplateProblem, Templates, truthy

OUTPUT_LIMIT = 64 * 1024
"""Largest output a step keeps (its JSON, in bytes)."""
MAX_MEMBERS = 100_000
"""Most members a runtime fan-out may expand into."""

_templates = Templates()


class StepView(dict):
    """``steps.<name>`` of a plain step in a template: ``output`` and ``state``."""


class FanOutView(dict):
    """``steps.<name>`` of a fan-out step: each member by label (``["osd.3"].output``), and
    ``outputs``, every member's output in member order."""

    @property
    def outputs(self) -> list[Any]:
        return [member["output"] for member in self.values()]


@dataclass(frozen=True)
class Decision:
    """What the node does now: skip (with the reason), run with ``args``, or expand."""

    skip: str | None = None
    args: dict[str, Any] | None = None
    members: list[tuple[str, str]] | None = None
    """A runtime fan-out's members: (node id, spec JSON)."""


def output_text(result: Any) -> str:
    """A task's return value as the step's output JSON ('' for None); StepFailed when it is
    not a JSON object or is larger than ``OUTPUT_LIMIT``."""
    if result is None:
        return ""
    if not isinstance(result, Mapping):
        raise StepFailed(f"the task returned {type(result).__name__}, not a JSON object: a "
                         "step's output is an object such as {\"osds\": [...]}")
    text = json.dumps(result, sort_keys=True, default=str)
    if len(text.encode()) > OUTPUT_LIMIT:
        raise StepFailed(f"the step's output is {len(text.encode()) // 1024} KiB, more than "
                         f"the {OUTPUT_LIMIT // 1024} KiB a step may keep")
    return text


def decide(client: redis.Redis, wk: keys.WorkflowKeys, spec: dict[str, Any]) -> Decision:
    """Render the node's run-time templates; StepFailed with the reason when one fails."""
    late = Late.model_validate(spec.get("late") or {})
    steps, ran = _read_steps(client, wk, late)
    for name in late.needs:
        if not ran.get(name, True):
            return Decision(skip=f"skipped: needs {name}, which was skipped")
    ctx: dict[str, Any] = {**late.vars, "steps": steps}
    if late.condition is not None:
        shown = late.condition_text or late.condition
        if not truthy(_render(late.condition, ctx, f"if {shown!r}")):
            return Decision(skip=f"skipped: if {shown} was false")
    if spec.get("expand"):
        return Decision(members=_members(spec, FanOut.model_validate(spec["expand"]), late, ctx))
    return Decision(args={**spec.get("args", {}), **_late_args(spec["task"], late, ctx)})


def _render(template: Any, ctx: Mapping[str, Any], what: str) -> Any:
    try:
        return _templates.render(template, ctx)
    except TemplateProblem as exc:
        where = "".join(f"[{p!r}]" for p in exc.path)
        raise StepFailed(f"{what}{where}: {exc.message}") from exc


def _late_args(task: str, late: Late, ctx: Mapping[str, Any]) -> dict[str, Any]:
    spec = CATALOG.get(task)
    out: dict[str, Any] = {}
    for name, template in late.args.items():
        value = _render(template, ctx, f"argument {name!r} ({_short(template)})")
        if spec is not None and name in spec.params:
            try:
                value = argcheck.check_value(spec.params[name], value)
            except ValueError as exc:
                raise StepFailed(f"{exc} (from {_short(template)})") from exc
        out[name] = value
    return out


def _members(spec: dict[str, Any], fanout: FanOut, late: Late,
             ctx: Mapping[str, Any]) -> list[tuple[str, str]]:
    items = _render(fanout.items, ctx, f"foreach {_short(fanout.items)}")
    if not isinstance(items, list):
        raise StepFailed(f"foreach {_short(fanout.items)} gave {type(items).__name__} "
                         f"{_short(items)}, not a list")
    if len(items) > MAX_MEMBERS:
        raise StepFailed(f"foreach {_short(fanout.items)} gave {len(items)} items, more than "
                         f"the {MAX_MEMBERS} a fan-out may have")
    step = spec["step"]
    base = {k: v for k, v in spec.items() if k not in ("late", "expand", "args")}
    members: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for n, item in enumerate(items):
        ictx = {**ctx, fanout.var: item}
        if fanout.label is not None:
            label = str(_render(fanout.label, ictx, f"label {_short(fanout.label)}"))
        else:
            label = str(item) if isinstance(item, str | int | float | bool) else str(n)
        if label in seen:
            raise StepFailed(f"foreach items {seen[label]} and {n} both have the label "
                             f"{label!r}" + ("" if fanout.label else "; set 'label' to tell "
                                                                     "them apart"))
        seen[label] = n
        args = {**spec.get("args", {}), **_late_args(spec["task"], late, ictx)}
        member = {**base, "args": args, "group": step, "label": label}
        members.append((f"{step}[{label}]", json.dumps(member, sort_keys=True, default=str)))
    return members


def _read_steps(client: redis.Redis, wk: keys.WorkflowKeys,
                late: Late) -> tuple[dict[str, Any], dict[str, bool]]:
    """``steps`` for the templates (the outputs and states of the steps in ``late.reads``),
    and whether each of those steps ran: some node of it was not skipped (a fan-out over
    nothing ran; one skipped as a whole did not)."""
    if not late.reads:
        return {}, {}
    # a member id (``drain[osd.3]``) is never an expander: only the others are looked up
    listed = sorted({n for ref in late.reads.values() for n in ref.nodes if "[" not in n})
    expanded = dict(zip(listed, client.hmget(wk.members, listed), strict=True)) if listed else {}
    nodes_of: dict[str, list[str]] = {}
    for name, ref in late.reads.items():
        nodes_of[name] = [m for n in ref.nodes for m in _members_of(n, expanded.get(n))]
    wanted = sorted({n for ids in nodes_of.values() for n in ids})
    pipe = client.pipeline(transaction=False)
    pipe.hmget(wk.result, wanted)
    pipe.hmget(wk.state, wanted)
    results, states = pipe.execute() if wanted else ([], [])
    found = {n: (r, s) for n, r, s in zip(wanted, results, states, strict=True)}
    steps: dict[str, Any] = {}
    ran: dict[str, bool] = {}
    for name, ref in late.reads.items():
        views = {n: _member(*found[n]) for n in nodes_of[name]}
        ran[name] = not views or any(v["state"] != NodeState.SKIPPED for v in views.values())
        if ref.fanout:  # members only: an expander that wrote none is not one
            steps[name] = FanOutView((_label(n), v) for n, v in views.items()
                                     if n not in expanded)
        else:
            steps[name] = next(iter(views.values()), StepView(output=None, state=None))
    return steps, ran


def _members_of(node: str, listed: str | None) -> Iterator[str]:
    """The nodes a read of ``node`` means: itself, or the members its expansion wrote (and
    itself, for its state, when it wrote none or was skipped)."""
    members = json.loads(listed) if listed else []  # an empty Lua table encodes as {}
    yield from members or [node]


def _member(result: str | None, state: str | None) -> StepView:
    return StepView(output=json.loads(result) if result else None, state=state)


def _label(node: str) -> str:
    """``osd.3`` of ``drain[osd.3]`` (the node id of a fan-out member)."""
    start = node.find("[")
    return node[start + 1:-1] if start >= 0 and node.endswith("]") else node


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
