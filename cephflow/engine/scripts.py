"""The engine's Lua scripts, one Python wrapper each: every state transition happens here.

Each ``lua/<name>.lua`` is prefixed with a generated prelude and ``lua/_common.lua`` (the
helpers shared by all transitions), and receives the workflow's keys in
``WorkflowKeys.script_keys()`` order and ``(workflow id, lease seconds)`` as its first two
arguments; the control path's calls add the history key (``keys.CONTROL_SCRIPT_KEYS``) and,
last, who acts (``Actor``), and the script records its action in the history (``history()``
in ``_common.lua``). No script is told the time: each reads Redis's ``TIME`` (``_common.lua``'s ``NOW``),
the one clock of the engine, so hosts whose clocks disagree still agree on leases and
deadlines. The prelude is the one place where the scripts learn Python's names: it binds
``K_<NAME> = KEYS[i]`` from ``keys.SCRIPT_KEYS`` and spells every state, phase, event type and
reply word as a constant table (``LUA_CONSTANTS``), so the ``.lua`` files write ``S.RUNNING``
and ``W.FAILING``, never the strings (``tests/engine/test_lua_contract.py`` checks that).
The source is built once per process and each script registered once per client (by SHA).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import redis

from cephflow.engine import keys
from cephflow.engine.connection import call
from cephflow.engine.state import (
    PROGRESS_DATA,
    EventType,
    HistoryAction,
    NodeState,
    WorkflowPhase,
    WorkflowState,
)

LUA_DIR = Path(__file__).with_name("lua")


class Reply(StrEnum):
    """The status word a script answers with (the first element of its reply)."""

    OK = "ok"
    RUN = "run"
    """claim: run the node (the fields of ``Claimed`` follow)."""
    STALE = "stale"
    """The message's token is outdated or its node not runnable: nothing changed."""
    UNKNOWN = "unknown"
    HELD = "held"
    """A lock is held by another workflow (lock, holder follow): nothing changed."""
    FULL = "full"
    """start, resume: the workflow's cluster runs its ``max_workflows`` already (the limit,
    then the running workflows' ids follow): nothing changed."""
    INVALID = "invalid"
    """The workflow or node is in a state that refuses the request (the reason follows)."""
    INCOMPLETE = "incomplete"
    """start: the submit's writes are not all there (after ``invalid``): nothing changed."""
    CANCELLED = "cancelled"
    """The workflow stopped meanwhile: the node was cancelled (sends follow)."""
    DECIDED = "decided"
    """decide: the gate holds a decision already (its JSON follows): nothing changed."""
    NOT_REACHED = "not_reached"
    """decide: the gate is not reached yet and the decision is not an early one."""
    SEND = "send"
    SKIP = "skip"
    PAUSED = "paused"
    """pause: the workflow is paused already (by, at, reason follow); claim: the workflow is
    paused, the node is held until unpause sends it (nothing to run)."""
    NOT_PAUSED = "not_paused"
    """unpause: the workflow is not paused (its state follows): nothing changed."""


class Rerun(StrEnum):
    """Which nodes ``resume.lua`` runs again (one script: plain resume is ``STOPPED``)."""

    STOPPED = "stopped"
    """The failed and cancelled nodes (``cephflow resume ID``)."""
    STEP = "from_step"
    """Those, and the given nodes with every node after them (``resume --from``)."""
    RETRY = "retry_step"
    """The given failed (or cancelled) nodes and the cancelled ones after them, nothing
    else: other failed nodes stay failed (``cephflow retry``)."""


class Kept(StrEnum):
    """What ``keep.lua`` writes for a task or the client."""

    FACT = "fact"
    ONCE = "once"
    """A ``StepContext.once`` marker."""
    MEMO = "memo"


class Claimed(NamedTuple):
    """What ``claim.lua`` answers after ``run``, in its reply's order (the one place it is
    spelled: the script returns these, the runner reads them by name)."""

    attempt: str
    started: str
    """When the node first started (epoch seconds, the server's clock)."""
    spec: str
    params: str
    runbook: str
    secrets: str
    """JSON list of the values to mask in what the run shows."""
    now: str
    """The server's clock at the claim: the runner counts on from it with time.monotonic()."""
    cluster: str
    """The cluster the workflow works on (meta ``cluster``; '' for none recorded)."""


LUA_CONSTANTS: dict[str, type[StrEnum]] = {
    "S": NodeState,
    "W": WorkflowState,
    "P": WorkflowPhase,
    "E": EventType,
    "R": Reply,
    "M": Rerun,
    "H": HistoryAction,
    "C": Kept,
}
"""The constant tables of the prelude: Lua name -> the enum whose members it holds."""

_LUA_WORD = re.compile(r"[a-z_]+")


def _lua_table(enum: type[StrEnum]) -> str:
    for member in enum:
        if not _LUA_WORD.fullmatch(member.value):  # quoted below without escaping
            raise ValueError(f"{enum.__name__}.{member.name}: {member.value!r} is not a plain word")
    return "{" + ", ".join(f"{m.name} = '{m.value}'" for m in enum) + "}"


@cache
def prelude() -> str:
    """The Lua lines every script starts with, generated from ``keys`` and the enums."""
    lines = ["-- Generated by cephflow/engine/scripts.py from keys.SCRIPT_KEYS and"
             " LUA_CONSTANTS: edit those, not this."]
    lines += [f"local K_{name} = KEYS[{i}]" for i, name in enumerate(keys.SCRIPT_KEYS, 1)]
    lines += [f"local K_{name} = KEYS[{i}]"  # nil unless the control path passes them
              for i, name in enumerate(keys.CONTROL_SCRIPT_KEYS, len(keys.SCRIPT_KEYS) + 1)]
    owned = ", ".join(f"K_{n}" for n in keys.OWNED_SCRIPT_KEYS)
    lines.append(f"local function own_keys() return {{{owned}}} end")  # built when needed
    lines += [f"local {name} = {_lua_table(enum)}" for name, enum in LUA_CONSTANTS.items()]
    return "\n".join(lines) + "\n"


ALLOW_OOM = "#!lua flags=allow-oom"
"""The first line of every script on Redis 7 or later: a transition runs even when Redis is
at its ``maxmemory`` (``noeviction``). New workflows are refused then (the submit's writes are
plain commands: ``RedisOutOfMemory``), but a running one must be able to record what its steps
did: a step whose outcome could not be written would be sent, and run, again. What a
transition adds is small and bounded by the workflows already running. (Redis 6 knows no
flags: there a transition refused for memory is an error, left to the reconciler.)"""


@cache
def _source(name: str, allow_oom: bool = True) -> str:
    lines = [ALLOW_OOM] if allow_oom else []
    return "\n".join([*lines, prelude(), (LUA_DIR / "_common.lua").read_text(),
                       (LUA_DIR / f"{name}.lua").read_text()])


def _pairs(values: list[Any]) -> list[tuple[str, str]]:
    return [(values[i], values[i + 1]) for i in range(0, len(values), 2)]


@dataclass
class Outcome:
    """What a script decided: a status word, its details, and the messages to send."""

    status: str
    detail: list[str] = field(default_factory=list)
    sends: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Actor:
    """Who acts through the control path: the history entry its script appends says so.

    Given to a transition, it passes the history key (``keys.CONTROL_SCRIPT_KEYS``) and
    itself as the last argument; without it (a worker's calls) nothing is recorded.
    """

    user: str
    host: str
    maxlen: int
    """The history's cap (``Settings.history_max_entries``; XADD MAXLEN ~)."""

    def argument(self) -> str:
        return json.dumps({"user": self.user, "host": self.host, "maxlen": self.maxlen})


def server_version(client: redis.Redis) -> str:
    """Redis's version from ``HELLO`` (``@connection``: every ACL user may ask it, where
    ``INFO`` is ``@dangerous`` and refused by the ACLs the docs give). Before Redis 6 there is
    no ``HELLO``: "5"."""
    try:
        reply = client.execute_command("HELLO")
    except redis.exceptions.NoPermissionError:
        return "7"  # an ACL that refuses even HELLO: ACLs came with Redis 6, HELLO with 6
    except redis.exceptions.ResponseError:
        return "5"
    if isinstance(reply, list):  # RESP2 without a callback: field, value, field, value...
        reply = dict(zip(reply[::2], reply[1::2], strict=False))
    version = reply.get("version", reply.get(b"version", "5"))
    return version.decode() if isinstance(version, bytes) else str(version)


class Transitions:
    """The scripts bound to one Redis client and namespace."""

    def __init__(self, client: redis.Redis, ns: str, lease_seconds: float):
        self.client = client
        self.ns = ns
        self.lease = lease_seconds
        self._scripts: dict[str, Any] = {}
        self._flags: bool | None = None

    def _allow_oom(self) -> bool:
        """Whether this Redis reads script flags (7.0 on): asked once per client."""
        if self._flags is None:
            self._flags = int(call(lambda: server_version(self.client),
                                   what="version").split(".")[0]) >= 7
        return self._flags

    def _run(self, name: str, wf: str, *args: Any, actor: Actor | None = None) -> list[Any]:
        script = self._scripts.get(name)
        if script is None:
            script = self._scripts[name] = self.client.register_script(
                _source(name, self._allow_oom()))
        wk = keys.WorkflowKeys(self.ns, wf)
        names = wk.script_keys()
        argv = [wf, repr(self.lease), *args]
        if actor is not None:  # the control path: the script records it in the history
            names += [build(wk) for build in keys.CONTROL_SCRIPT_KEYS.values()]
            argv.append(actor.argument())
        return call(lambda: script(keys=names, args=argv), what=name)

    def _with_sends(self, result: list[Any]) -> Outcome:
        return Outcome(result[0], sends=_pairs(result[1:]))

    def start(self, wf: str, note: str = "", *, actor: Actor | None = None) -> Outcome:
        """Start a written workflow (its locks and roots are in its meta); ``actor``: who
        submitted it, recorded in the history (the reconciler's start records nothing)."""
        r = self._run("start", wf, note, actor=actor)
        if r[0] in (Reply.HELD, Reply.FULL, Reply.INVALID):
            return Outcome(r[0], detail=r[1:])
        return self._with_sends(r)

    def discard(self, wf: str, why: str) -> Outcome:
        """Remove a workflow still submitting (its audit record's outcome says ``why``)."""
        r = self._run("discard", wf, why)
        return Outcome(r[0], detail=r[1:])

    def claim(self, wf: str, node: str, token: str, holder: str = "",
              worker: str = "") -> Outcome:
        """Claim the node for this run; ``holder`` is the process (``keys.holder_id``),
        ``worker`` who runs it as people name it (kept per node: ``keys`` ``worker``)."""
        r = self._run("claim", wf, node, token, holder, worker)
        if r[0] == Reply.RUN:
            return Outcome(Reply.RUN, detail=r[1:])
        return self._with_sends(r)

    def beat(self, wf: str, node: str, holder: str = "") -> bool:
        """Extend the node's lease (and ``holder``'s record) to one lease past the server's
        now (never shorten it)."""
        return bool(self._run("beat", wf, node, holder))

    def due(self, limit: int, submit_grace: float) -> tuple[list[str], list[str]]:
        """The expired lease members, and the workflows submitting for longer than
        ``submit_grace`` seconds, both by the server's clock (at most ``limit`` each)."""
        leases, stuck = self._run("due", "", str(limit), repr(submit_grace))
        return leases, stuck

    def complete(self, wf: str, node: str, token: str, outcome: str, error: str = "",
                 result: str = "") -> Outcome:
        return self._with_sends(self._run("complete", wf, node, token, outcome, error, result))

    def expand(self, wf: str, node: str, token: str, members: list[tuple[str, str]],
               group: str, detail: str) -> Outcome:
        """Write a runtime fan-out's members (id, spec JSON) and end its expander."""
        r = self._run("expand", wf, node, token, json.dumps(members), group, detail)
        if r[0] == Reply.INVALID:
            return Outcome(Reply.INVALID, detail=r[1:])
        return self._with_sends(r)

    def reschedule(self, wf: str, node: str, token: str, kind: str, delay: float,
                   error: str = "") -> Outcome:
        r = self._run("reschedule", wf, node, token, kind, repr(delay), error)
        if r[0] == Reply.OK:
            return Outcome(Reply.OK, detail=r[1:])
        return self._with_sends(r)

    def relet(self, wf: str, node: str) -> Outcome:
        r = self._run("relet", wf, node)
        return Outcome(r[0], detail=r[1:])

    def cancel(self, wf: str, user: str, *, actor: Actor | None = None) -> Outcome:
        r = self._run("cancel", wf, user, actor=actor)
        if r[0] == Reply.INVALID:
            return Outcome(Reply.INVALID, detail=r[1:])
        return self._with_sends(r)

    def resume(self, wf: str, user: str, mode: Rerun = Rerun.STOPPED,
               seeds: list[str] | None = None, step: str = "", *,
               actor: Actor | None = None) -> Outcome:
        """Run the workflow again: which nodes, ``mode`` says (``seeds``: the nodes of
        ``step``, for ``Rerun.STEP`` and ``Rerun.RETRY``)."""
        r = self._run("resume", wf, user, mode.value, json.dumps(seeds or []), step, actor=actor)
        if r[0] in (Reply.INVALID, Reply.HELD, Reply.FULL):
            return Outcome(r[0], detail=r[1:])
        return self._with_sends(r)

    def pause(self, wf: str, user: str, reason: str = "", *,
              actor: Actor | None = None) -> Outcome:
        """Hold the workflow: no new main step starts until ``unpause`` (``lua/pause.lua``)."""
        r = self._run("pause", wf, user, reason, actor=actor)
        return Outcome(r[0], detail=r[1:])

    def unpause(self, wf: str, user: str, *, actor: Actor | None = None) -> Outcome:
        """Lift the pause; the outcome's sends are the held steps, each sent once."""
        r = self._run("unpause", wf, user, actor=actor)
        if r[0] in (Reply.INVALID, Reply.NOT_PAUSED):
            return Outcome(r[0], detail=r[1:])
        return self._with_sends(r)

    def decide(self, wf: str, node: str, decision: dict[str, Any], detail: str, *,
               early: bool = False, actor: Actor | None = None) -> Outcome:
        r = self._run("decide", wf, node, json.dumps(decision, sort_keys=True), detail,
                      "1" if early else "0", actor=actor)
        return Outcome(r[0], detail=r[1:])

    def keep(self, wf: str, what: Kept, node: str, name: str, value: str = "") -> bool:
        """Keep a fact (``name`` -> ``value``), a once-marker (``name`` is the marker) or an
        entry of ``node``'s memo, expiring with the workflow if it has ended; nothing is
        written once it has expired. True when written (for a marker: when it is new)."""
        return bool(self._run("keep", wf, what.value, node, name, value))

    def progress(self, wf: str, node: str, detail: str, data: dict[str, Any]) -> bool:
        """Publish a progress line; ``data[PROGRESS_DATA]`` (a JSON object), when there, is
        kept as the node's progress too (``NodeSnapshot.progress``)."""
        kept = data.get(PROGRESS_DATA)
        measured = json.dumps(kept, default=str) if isinstance(kept, dict) else ""
        return bool(self._run("progress", wf, node, detail, json.dumps(data, default=str),
                              measured))
