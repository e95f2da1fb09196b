"""The compiled DAG: the contract between the runbook compiler and the engine.

A ``Dag`` is plain data: it round-trips through JSON byte for byte
(``Dag.model_validate_json(dag.to_json()).to_json() == dag.to_json()``), and the same runbook
with the same parameters and discover answers always gives the same JSON.

Node ids are stable and readable: ``drain`` for a plain step, ``drain[osd.41]`` for one
child of a ``foreach`` (the label is the fan-out item, rendered by the step's ``label``
template or ``str(item)``), ``inc.drain`` for a step that came from ``include: inc``.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

REDACTED = "**********"
"""What a secret looks like wherever it is shown (as pydantic's SecretStr prints)."""


class RetryPolicy(BaseModel):
    """How often a failing step is tried, and how long to wait between tries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attempts: int = 1
    """Total tries, the first included (1: no retry)."""
    backoff: float = 2.0
    """Seconds before the second try."""
    factor: float = 2.0
    """Each further wait is the previous one times this."""
    max_backoff: float = 300.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after try number ``attempt`` (1-based) failed."""
        return min(self.backoff * self.factor ** max(attempt - 1, 0), self.max_backoff)


RUN_TIME_FIELDS = ("late", "expand")
"""Node fields for what is decided at run time: left out of the JSON when None."""


class StepRef(BaseModel):
    """A step whose output a node reads at run time (``steps.<name>`` in its templates)."""

    model_config = ConfigDict(extra="forbid")

    nodes: list[str] = Field(default_factory=list)
    """The step's node ids (its members for a fan-out; a runtime fan-out's expander node,
    which the worker replaces by the members it wrote)."""
    fanout: bool = False
    """A ``foreach`` step: ``steps.<name>["label"].output`` and ``steps.<name>.outputs``
    instead of ``steps.<name>.output``."""


class Late(BaseModel):
    """What a node decides when it becomes ready, not when it is compiled.

    The worker renders these templates in the same sandbox as the compiler, over ``vars``
    and ``steps`` (the outputs of ``reads``), just before it runs the task.
    """

    model_config = ConfigDict(extra="forbid")

    args: dict[str, Any] = Field(default_factory=dict)
    """Arguments whose templates read step outputs, unrendered; type-checked once rendered."""
    condition: str | None = None
    """The step's ``if:``: false when rendered, and the node is skipped (with the reason)."""
    condition_text: str | None = None
    """``if:`` as the runbook wrote it, for the plan and the reason of a skip."""
    needs: list[str] = Field(default_factory=list)
    """Steps (keys of ``reads``) that must have run: when one was skipped, so is this node."""
    reads: dict[str, StepRef] = Field(default_factory=dict)
    """Step name as the templates write it -> its nodes."""
    vars: dict[str, Any] = Field(default_factory=dict)
    """The other template variables those templates use (params, discover answers, the
    ``foreach`` item), as the compiler saw them."""


class FanOut(BaseModel):
    """A ``foreach`` over a step's output: expanded by the worker when the step is ready.

    The node carrying it is the expander: it renders ``items``, then one script writes a
    member per item (ids ``<step>[<label>]``, in group ``<step>``, with this ``concurrency``),
    with the node's ``args`` and its ``late.args`` rendered per item, and the nodes after the
    step wait for every member.
    """

    model_config = ConfigDict(extra="forbid")

    items: str
    """The ``foreach`` template (it reads step outputs)."""
    var: str = "item"
    """The ``as:`` name each item is bound to."""
    label: str | None = None
    """The ``label:`` template, rendered per item (else the item, or its index)."""
    concurrency: int | None = None
    source: str = ""
    """The steps it reads, for the plan: ``the output of discover``."""


class Node(BaseModel):
    """One concrete step of a workflow: a task with its rendered arguments."""

    model_config = ConfigDict(extra="forbid")

    id: str
    step: str
    """The runbook step this node came from (several nodes share it under ``foreach``)."""
    task: str
    """A task name from the registry, e.g. ``ceph.reweight``."""
    args: dict[str, Any] = Field(default_factory=dict)
    after: list[str] = Field(default_factory=list)
    """Ids of the nodes that must have ended (succeeded or skipped) before this one runs."""
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    timeout: float | None = None
    """Seconds from the node's first start until it fails; for waiting steps, their deadline."""
    cleanup: bool = False
    """A ``finally`` node: runs once the main part has ended, whatever the outcome."""
    skip: bool = False
    """The step's ``when`` was false at compile time: the engine marks it skipped, never runs it."""
    group: str | None = None
    """The fan-out this node belongs to (the ``foreach`` step's id), or None."""
    label: str | None = None
    """The fan-out item's label (``osd.41``), shown by views."""
    secret_args: list[str] = Field(default_factory=list)
    """Names of ``args`` that hold a secret: the engine passes them, views show ``REDACTED``."""
    redo_on_resume: bool = False
    """Its task sets up what a ``finally`` node undoes: ``resume`` runs it again (when it
    succeeded) before any node after it that is re-run."""
    late: Late | None = None
    """Arguments, condition and needs decided at run time (None: all settled now)."""
    expand: FanOut | None = None
    """A runtime fan-out: this node expands into the step's members when it is ready."""


class Group(BaseModel):
    """A ``foreach`` fan-out: its members and how many of them may run at once."""

    model_config = ConfigDict(extra="forbid")

    id: str
    concurrency: int | None = None
    """At most this many members running at once; None: no limit."""


class Dag(BaseModel):
    """A compiled workflow: what the engine stores and runs, and what ``plan`` shows."""

    model_config = ConfigDict(extra="forbid")

    runbook: str
    """The runbook's name."""
    source: str
    """The runbook file (as given, relative where possible)."""
    description: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    """The resolved parameter values (defaults applied, secrets redacted)."""
    discovered: dict[str, Any] = Field(default_factory=dict)
    """The answers of the runbook's ``discover`` lookups."""
    locks: list[str] = Field(default_factory=list)
    moves_data: bool = False
    """The workflow makes Ceph move data: the runbook's ``moves_data``, else whether one of
    its steps' tasks does. Pausing such a workflow also freezes the data movement."""
    groups: dict[str, Group] = Field(default_factory=dict)
    nodes: list[Node] = Field(default_factory=list)
    """Topologically ordered: every node comes after the nodes in its ``after``."""
    secrets: list[str] = Field(default_factory=list, exclude=True, repr=False)
    """The values of the secret params (and of arguments a task types ``SecretStr``): the
    engine keeps them with the workflow and masks them in whatever it shows or records
    (``cephflow.masking``). Never serialised: ``to_json`` and ``model_dump`` leave them out,
    so a DAG read back from JSON has none."""

    def redacted(self) -> Dag:
        """A copy safe to print: every secret argument replaced by ``REDACTED``, no
        secret values kept."""
        nodes = [
            n.model_copy(update={"args": {k: REDACTED if k in n.secret_args else v
                                          for k, v in n.args.items()}})
            if n.secret_args else n
            for n in self.nodes
        ]
        if self.secrets:  # a late template's variables hold the values it will render
            nodes = [
                n.model_copy(update={"late": n.late.model_copy(update={"vars": {
                    k: REDACTED if _mentions(v, self.secrets) else v
                    for k, v in n.late.vars.items()}})})
                if n.late is not None and n.late.vars else n
                for n in nodes
            ]
        return self.model_copy(update={"nodes": nodes, "secrets": []})

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no whitespace, so equal DAGs give equal bytes.

        ``late`` and ``expand`` appear only on the nodes that have them."""
        data = self.model_dump(mode="json")
        for node in data["nodes"]:
            for name in RUN_TIME_FIELDS:
                if node.get(name) is None:
                    node.pop(name, None)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def children(self) -> dict[str, list[str]]:
        """Node id -> ids of the nodes that wait for it."""
        result: dict[str, list[str]] = {n.id: [] for n in self.nodes}
        for n in self.nodes:
            for dep in n.after:
                result[dep].append(n.id)
        return result


def _mentions(value: Any, secrets: list[str]) -> bool:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return any(secret and secret in text for secret in secrets)
