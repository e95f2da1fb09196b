"""The runbook language as pydantic models, and pydantic's errors mapped back to positions.

The models check the *shape* of a runbook (which keys exist, which are lists, which are
text); what the values mean (tasks, dependencies, templates) is checked by ``checker`` and
``compiler``. Every model forbids unknown keys, so a typo such as ``tsak:`` is reported with
the closest known key.

YAML keys that are Python keywords have aliases: ``with`` -> ``with_``, ``as`` -> ``as_``,
``if`` -> ``if_``, ``finally`` -> ``finally_``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cephflow.errors import Problem
from cephflow.runbook import types
from cephflow.runbook.messages import EXPECTED, shown
from cephflow.runbook.yamlpos import Doc
from cephflow.suggest import did_you_mean

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
STEP_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*\Z")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, frozen=True)


class ParamDecl(_Model):
    """``params: {host: {type: str, help: ..., default: ..., choices: [...], secret: true}}``."""

    type: str = "str"
    default: Any = None
    required: bool | None = None
    help: str = ""
    choices: list[Any] | None = None
    secret: bool = False
    min: float | None = None
    """Smallest value allowed (a number or duration, each item of a list): ``min: 1`` for a
    count, where ``--items -3`` would otherwise compile to an empty fan-out."""
    max: float | None = None
    """Largest value allowed, as ``min``."""

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        try:
            return types.parse_type(value).name
        except ValueError:
            hint = did_you_mean(value, types.TYPE_NAMES)
            raise ValueError(
                f"unknown type {value!r}" + (f" ({hint})" if hint else "")
                + f"; one of {', '.join(types.TYPE_NAMES)}"
            ) from None

    @property
    def ptype(self) -> types.ParamType:
        return types.parse_type(self.type)

    @property
    def is_required(self) -> bool:
        return self.required if self.required is not None else self.default is None


class DiscoverDecl(_Model):
    """``discover: {osds: {lookup: ceph.osds_on_host, with: {host: "{{ host }}"}}}``."""

    lookup: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")


class RetryDecl(_Model):
    """``retry: {attempts: 3, backoff: 10s, factor: 2, max_backoff: 5m}`` (or ``retry: 3``)."""

    attempts: int = Field(default=1, ge=1, le=1000)
    backoff: Any = 2.0
    factor: float = Field(default=2.0, ge=1.0, le=100.0)
    max_backoff: Any = 300.0

    @field_validator("backoff", "max_backoff")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return types.parse_duration(value)


_SHAPES: dict[str, tuple[tuple[type, ...], str]] = {
    "when": ((bool, str), "must be a condition (text) or true/false"),
    "if_": ((str,), "must be a condition (text), decided when the step is ready"),
    "foreach": ((str, list), "must be a list or a template giving one"),
    "approval": ((bool, str, dict), "must be true, a message, or a mapping of arguments"),
}
"""Step keys that take a few kinds of value: the kinds, and what a wrong one is told."""


def _rendered_later(value: Any) -> bool:
    """None, or a template: the compiler checks it once rendered, not the model."""
    return value is None or (isinstance(value, str) and "{" in value)


class StepDecl(_Model):
    """One entry of ``steps:`` or ``finally:``: a task to run, or another runbook to include."""

    id: str
    task: str | None = None
    include: str | None = None
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    after: list[str] = Field(default_factory=list)
    foreach: Any = None
    as_: str = Field(default="item", alias="as")
    label: str | None = None
    concurrency: Any = None
    when: Any = None
    if_: Any = Field(default=None, alias="if")
    """A condition decided when the step becomes ready (it may read step outputs)."""
    needs: list[str] = Field(default_factory=list)
    """Steps that must have run (not been skipped) for this one to run; implies ``after``."""
    retry: RetryDecl | None = None
    timeout: Any = None
    approval: Any = None
    description: str = ""

    @field_validator("id")
    @classmethod
    def _step_id(cls, value: str) -> str:
        if not STEP_ID.match(value):
            raise ValueError(f"may hold only letters, digits, '_' and '-', got {value!r}")
        return value

    @field_validator("as_")
    @classmethod
    def _as_name(cls, value: str) -> str:
        if not IDENT.match(value):
            raise ValueError(f"must be a variable name, got {value!r}")
        return value

    @field_validator("after", "needs", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("retry", mode="before")
    @classmethod
    def _retry_shorthand(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return {"attempts": value}
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: Any) -> Any:
        if _rendered_later(value):
            return value
        return types.parse_duration(value)

    @field_validator("concurrency")
    @classmethod
    def _concurrency(cls, value: Any) -> Any:
        if _rendered_later(value):
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"must be a whole number >= 1, got {value!r}")
        return value

    @field_validator(*_SHAPES)
    @classmethod
    def _shape(cls, value: Any, info: ValidationInfo) -> Any:
        kinds, wanted = _SHAPES[info.field_name]
        if value is None or isinstance(value, kinds):
            return value
        raise ValueError(f"{wanted}, got {value!r}")

    @model_validator(mode="after")
    def _task_or_include(self) -> StepDecl:
        if (self.task is None) == (self.include is None):
            raise ValueError(f"step {self.id!r} needs exactly one of 'task' or 'include'")
        if self.include is not None:
            extra = [
                k for k in ("foreach", "approval", "retry", "timeout") if getattr(self, k) is not None
            ] + (["if"] if self.if_ is not None else []) + (["needs"] if self.needs else [])
            if extra:
                raise ValueError(f"step {self.id!r}: an include cannot have {extra[0]!r}")
        if self.foreach is None and (self.label is not None or self.concurrency is not None):
            raise ValueError(f"step {self.id!r}: 'label' and 'concurrency' need 'foreach'")
        return self

    @property
    def waits(self) -> list[str]:
        """The steps this one runs after: ``after`` and the ``needs`` it leaves out (a step
        can only need a step it runs after, so naming it once is enough)."""
        return [*self.after, *(n for n in self.needs if n not in self.after)]


ParamT = TypeVar("ParamT")
DiscoverT = TypeVar("DiscoverT")
StepT = TypeVar("StepT")


class _RunbookKeys(_Model, Generic[ParamT, DiscoverT, StepT]):
    """The top-level keys of a runbook file, declared once for both models that use them:
    ``RunbookDecl`` (each entry its own model) and ``_Shell`` (entries left unchecked)."""

    name: str
    description: str = ""
    params: dict[str, ParamT] = Field(default_factory=dict)
    discover: dict[str, DiscoverT] = Field(default_factory=dict)
    locks: list[str] = Field(default_factory=list)
    moves_data: bool | None = None
    """Whether the workflow makes Ceph move data (its pause then freezes the movement);
    unset: it does when one of its steps' tasks does (``@task(moves_data=True)``)."""
    steps: list[StepT] = Field(min_length=1)
    finally_: list[StepT] = Field(default_factory=list, alias="finally")


class RunbookDecl(_RunbookKeys[ParamDecl, DiscoverDecl, StepDecl]):
    """A whole runbook file."""


_FIELDS: dict[type[BaseModel], list[str]] = {}


def _field_names(model: type[BaseModel]) -> list[str]:
    if model not in _FIELDS:
        _FIELDS[model] = [f.alias or n for n, f in model.model_fields.items()]
    return _FIELDS[model]


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """Which model a location (without its last element) points into."""
    if not loc:
        return RunbookDecl
    head = loc[0]
    if head == "params" and len(loc) == 2:
        return ParamDecl
    if head == "discover" and len(loc) == 2:
        return DiscoverDecl
    if head in ("steps", "finally") and len(loc) == 2:
        return StepDecl
    if head in ("steps", "finally") and len(loc) == 3 and loc[2] == "retry":
        return RetryDecl
    return None


_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
           "less_than": "<"}


def problems_from(exc: ValidationError, doc: Doc, prefix: tuple[Any, ...] = ()) -> list[Problem]:
    """Pydantic's errors as Problems at the position of the offending key or value.

    ``prefix`` is where the validated value sits in the document (a step validated on its
    own sits at ``("steps", 3)``).
    """
    problems: list[Problem] = []
    for err in exc.errors():
        loc = (*prefix, *err["loc"])
        kind = err["type"]
        name = loc[-1] if loc else "runbook"
        if kind == "extra_forbidden":
            model = _model_at(loc[:-1])
            hint = did_you_mean(str(name), _field_names(model)) if model else None
            problems.append(doc.problem(loc, f"unknown key {name!r}", key=True, hint=hint))
        elif kind == "missing":
            where = f" in step {_step_id(doc, loc)!r}" if _step_id(doc, loc) else ""
            problems.append(doc.problem(loc[:-1], f"missing key {name!r}{where}"))
        elif kind == "value_error":
            message = str(err["msg"]).removeprefix("Value error, ")
            if isinstance(name, str) and _model_at(loc[:-1]) is not None:
                message = f"{name!r}: {message}"
            step = _step_id(doc, loc)
            if step and not message.startswith("step "):
                message = f"step {step!r}: {message}"
            problems.append(doc.problem(loc, message))
        elif kind in _BOUNDS:
            label = f"{name!r}" if isinstance(name, str) else f"item {name}"
            bound = next(iter(err.get("ctx", {}).values()), "?")
            problems.append(doc.problem(loc, f"{label}: must be {_BOUNDS[kind]} {bound}, "
                                             f"got {shown(err['input'])}"))
        elif kind == "too_short" and loc == ("steps",):
            problems.append(doc.problem(loc, "a runbook needs at least one step"))
        elif kind in EXPECTED:
            label = f"{name!r}" if isinstance(name, str) else f"item {name}"
            problems.append(
                doc.problem(loc, f"{label}: {EXPECTED[kind]}, got {shown(err['input'])}")
            )
        else:
            label = f"{name!r}" if isinstance(name, str) else f"item {name}"
            problems.append(doc.problem(loc, f"{label}: {err['msg']}"))
    return problems


def _step_id(doc: Doc, loc: tuple[Any, ...]) -> str | None:
    if len(loc) >= 3 and loc[0] in ("steps", "finally") and isinstance(doc.data, dict):
        try:
            step = doc.data[loc[0]][loc[1]]
        except (KeyError, IndexError, TypeError):
            return None
        if isinstance(step, dict) and isinstance(step.get("id"), str):
            return step["id"]
    return None


class _Shell(_RunbookKeys[Any, Any, Any]):
    """The top level alone: its keys and the shapes of its sections, not their entries."""


@dataclass
class Parsed:
    """A runbook model built from the entries that are valid, and what was wrong with the rest.

    Every entry (param, lookup, step) is validated on its own, so one broken step does not
    hide the problems of the others: the checker runs on the valid part, and ``broken``
    names the entries left out so that references to them are not reported twice.
    """

    decl: RunbookDecl | None
    problems: list[Problem] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)
    places: dict[str, list[int]] = field(default_factory=dict)
    """Section -> the document index of each step kept in ``decl`` (broken ones are left out)."""


def _validate(model: type[_Model], value: Any, doc: Doc, prefix: tuple[Any, ...],
              problems: list[Problem]) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems.extend(problems_from(exc, doc, prefix))
        return None


def parse(doc: Doc) -> Parsed:
    """Validate a loaded document against the language, entry by entry."""
    data = doc.data
    if not isinstance(data, dict):
        return Parsed(None, [doc.problem((), "a runbook is a mapping with 'name', 'steps', ...")])
    problems: list[Problem] = []
    broken: set[str] = set()
    shell = _validate(_Shell, data, doc, (), problems)

    def section(key: str, kind: type) -> Any:
        value = data.get(key)
        return value if isinstance(value, kind) else kind()

    params: dict[str, ParamDecl] = {}
    discover: dict[str, DiscoverDecl] = {}
    for key, model, target, what in (("params", ParamDecl, params, "parameter"),
                                     ("discover", DiscoverDecl, discover, "discover")):
        for name, value in section(key, dict).items():
            if not IDENT.match(name):
                problems.append(doc.problem((key, name), f"{what} name {name!r} must be "
                                            "a variable name (letters, digits, '_')", key=True))
                broken.add(name)
                continue
            entry = _validate(model, value, doc, (key, name), problems)
            if entry is None:
                broken.add(name)
            else:
                target[name] = entry
    steps: dict[str, list[StepDecl]] = {"steps": [], "finally": []}
    places: dict[str, list[int]] = {"steps": [], "finally": []}
    for key in steps:
        for i, value in enumerate(section(key, list)):
            entry = _validate(StepDecl, value, doc, (key, i), problems)
            if entry is not None:
                steps[key].append(entry)
                places[key].append(i)
            elif isinstance(value, dict) and isinstance(value.get("id"), str):
                broken.add(value["id"])
    name = data.get("name") if isinstance(data.get("name"), str) else "?"
    description = data.get("description") if isinstance(data.get("description"), str) else ""
    locks = shell.locks if shell is not None else [
        x for x in section("locks", list) if isinstance(x, str)]
    moves_data = data.get("moves_data") if isinstance(data.get("moves_data"), bool) else None
    decl = RunbookDecl.model_construct(
        name=name, description=description, params=params, discover=discover, locks=locks,
        moves_data=moves_data,
        steps=steps["steps"], finally_=steps["finally"],
    )
    return Parsed(decl, problems, broken, places)
