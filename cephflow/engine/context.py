"""What a running task sees of its workflow: ``StepContext``.

Every task function takes a ``StepContext`` as its first argument, then its keyword
arguments (the step's rendered ``with:``)::

    @task("ceph.reweight", destructive=True)
    def reweight(ctx: StepContext, *, osd: int, target: float, step: float = 0.1) -> dict:
        ...
        ctx.progress(f"osd.{osd} weight 0.40 → 0.30, 3.1% misplaced")
        ctx.not_yet("waiting for misplaced < 1%")        # check again later, worker slot freed
        return {"weight": target}                        # kept as the node's result

Raising ``StepFailed`` fails the step at once; any other exception is retried per the step's
``retry`` policy. ``ctx.not_yet`` raises ``NotYet``: the engine re-schedules the node with a
short countdown until it returns or its ``timeout`` passes.

The context talks to the engine through a ``ContextBackend``; the engine provides the Redis
one, tests of pure task logic may use ``MemoryBackend``.

The workflow's secret values (``cephflow.masking``) are masked here, at the task's boundary,
in what cephflow shows or records for display: progress lines and their data, facts, and the
changes ``leave`` records. A task's arguments and what it sends on purpose (a notification's
text, a password to a server) stay in clear; so do node memos, which only the task reads back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cephflow.masking import Masker
from cephflow.settings import Settings, get_settings


class NotYet(Exception):  # noqa: N818 - a signal, not an error
    """Raised by ``StepContext.not_yet``: the condition is not met yet, check again later."""

    def __init__(self, detail: str = "", countdown: float | None = None):
        self.detail = detail
        self.countdown = countdown
        super().__init__(detail)


class ContextBackend(Protocol):
    """What a StepContext needs from the engine."""

    def publish_progress(self, workflow_id: str, node_id: str, detail: str, data: dict[str, Any]) -> None: ...

    def get_fact(self, workflow_id: str, key: str) -> Any: ...

    def set_fact(self, workflow_id: str, key: str, value: Any) -> None: ...

    def claim_once(self, workflow_id: str, node_id: str, key: str) -> bool:
        """True the first time (workflow, node, key) is claimed, False ever after."""
        ...

    def node_memo(self, workflow_id: str, node_id: str) -> dict[str, Any]: ...

    def set_node_memo(self, workflow_id: str, node_id: str, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class EngineClock:
    """The engine's clock as a running step sees it: Redis's ``TIME`` read by the claim
    (``server_now``), counted on with ``time.monotonic()``.

    Times the engine writes (a node's start, lease expiries) are Redis's; comparing them with
    this host's wall clock would time a step out early on a host whose clock runs ahead. The
    monotonic count is immune to the wall clock being set or slewed while the step runs.
    """

    server_now: float
    monotonic_at: float = field(default_factory=time.monotonic)

    def __call__(self) -> float:
        return self.server_now + (time.monotonic() - self.monotonic_at)


LEFT_PREFIX = "left."
"""Fact keys of ``StepContext.leave``: changes a stopped workflow leaves as they are."""


@dataclass
class StepContext:
    """A task's handle on its workflow: progress, facts, once-only markers, deadline."""

    workflow_id: str
    node_id: str
    backend: ContextBackend
    attempt: int = 1
    """1 for the first try of the step, 2 for its first retry, ..."""
    started_at: float = field(default_factory=time.time)
    """When this node first started (epoch seconds, the engine's clock: ``now``), kept across
    polls and retries."""
    deadline: float | None = None
    """Epoch seconds (the engine's clock: ``now``) after which the step fails (its timeout),
    or None."""
    params: dict[str, Any] = field(default_factory=dict)
    """The workflow's parameters."""
    settings: Settings = field(default_factory=get_settings)
    masker: Masker = field(default_factory=Masker, repr=False)
    """Masks the workflow's secret values in what this context publishes or records."""
    clock: Callable[[], float] = field(default=time.time, repr=False)
    """The engine's clock (``EngineClock`` in a worker): what ``started_at`` and ``deadline``
    are measured in. Compare them with ``now()``, never with ``time.time()``."""

    def now(self) -> float:
        """The engine's time now (epoch seconds), whatever this host's clock says."""
        return self.clock()

    def progress(self, detail: str, **data: Any) -> None:
        """Publish a progress line that followers show next to the step (secrets masked).

        ``data["progress"]`` (``state.PROGRESS_DATA``), a JSON object, is kept as the node's
        progress too (``status --json``), until a later line carries another."""
        self.backend.publish_progress(self.workflow_id, self.node_id, self.masker.text(detail),
                                      self.masker.value(data))

    def not_yet(self, detail: str = "", countdown: float | None = None) -> None:
        """Stop this check here; the engine runs the task again after ``countdown`` seconds."""
        if detail:
            self.progress(detail)
        raise NotYet(detail, countdown)

    def fact(self, key: str, default: Any = None) -> Any:
        """A workflow-wide value set by an earlier step (e.g. a silence id)."""
        value = self.backend.get_fact(self.workflow_id, key)
        return default if value is None else value

    def set_fact(self, key: str, value: Any) -> None:
        """Keep a JSON-able value for later steps (and for ``cephflow status``); a secret in
        it is masked (a fact is shown: keep a secret in a memo, or pass it as an argument)."""
        self.backend.set_fact(self.workflow_id, key, self.masker.value(value))

    def leave(self, key: str, change: str | None) -> None:
        """Record a change this step made that no cleanup undoes (``None``: undone again).

        ``cephflow cancel`` lists them, so an operator knows what a stopped workflow left
        behind (a weight half-way, an OSD out) and that ``resume`` continues from there.
        """
        self.backend.set_fact(self.workflow_id, LEFT_PREFIX + key, self.masker.value(change))

    def once(self, key: str) -> bool:
        """True exactly once per (workflow, node, key), however often the task runs.

        Claim before a side effect that must not repeat (send a message). A task that
        claims and then dies has lost the side effect; record the outcome with ``remember``.
        """
        return self.backend.claim_once(self.workflow_id, self.node_id, key)

    @property
    def memo(self) -> dict[str, Any]:
        """This node's remembered values, kept across polls, retries and redeliveries."""
        return self.backend.node_memo(self.workflow_id, self.node_id)

    def remember(self, key: str, value: Any) -> None:
        self.backend.set_node_memo(self.workflow_id, self.node_id, key, value)

    def time_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - self.now()


class MemoryBackend:
    """A ContextBackend in plain dicts, for unit tests of task logic."""

    def __init__(self) -> None:
        self.progress: list[tuple[str, str, str, dict[str, Any]]] = []
        self.facts: dict[tuple[str, str], Any] = {}
        self.claims: set[tuple[str, str, str]] = set()
        self.memos: dict[tuple[str, str], dict[str, Any]] = {}

    def publish_progress(self, workflow_id: str, node_id: str, detail: str, data: dict[str, Any]) -> None:
        self.progress.append((workflow_id, node_id, detail, data))

    def get_fact(self, workflow_id: str, key: str) -> Any:
        return self.facts.get((workflow_id, key))

    def set_fact(self, workflow_id: str, key: str, value: Any) -> None:
        self.facts[(workflow_id, key)] = value

    def claim_once(self, workflow_id: str, node_id: str, key: str) -> bool:
        marker = (workflow_id, node_id, key)
        if marker in self.claims:
            return False
        self.claims.add(marker)
        return True

    def node_memo(self, workflow_id: str, node_id: str) -> dict[str, Any]:
        return dict(self.memos.get((workflow_id, node_id), {}))

    def set_node_memo(self, workflow_id: str, node_id: str, key: str, value: Any) -> None:
        self.memos.setdefault((workflow_id, node_id), {})[key] = value
