"""The engine's Lua scripts, one Python wrapper each: every state transition happens here.

Each ``lua/<name>.lua`` is prefixed with ``lua/_common.lua`` (the key layout and the helpers
shared by all transitions) and receives the workflow's keys in ``WorkflowKeys.script_keys()``
order and ``(workflow id, now, lease seconds)`` as its first three arguments.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import redis

from cephflow.engine import keys
from cephflow.engine.connection import call

LUA_DIR = Path(__file__).with_name("lua")


@cache
def _source(name: str) -> str:
    return (LUA_DIR / "_common.lua").read_text() + "\n" + (LUA_DIR / f"{name}.lua").read_text()


def _pairs(values: list[Any]) -> list[tuple[str, str]]:
    return [(values[i], values[i + 1]) for i in range(0, len(values), 2)]


@dataclass
class Outcome:
    """What a script decided: a status word, its details, and the messages to send."""

    status: str
    detail: list[str] = field(default_factory=list)
    sends: list[tuple[str, str]] = field(default_factory=list)


class Transitions:
    """The scripts bound to one Redis client and namespace."""

    def __init__(self, client: redis.Redis, ns: str, lease_seconds: float):
        self.client = client
        self.ns = ns
        self.lease = lease_seconds
        self._scripts: dict[str, Any] = {}

    def _run(self, name: str, wf: str, *args: Any) -> list[Any]:
        script = self._scripts.get(name)
        if script is None:
            script = self._scripts[name] = self.client.register_script(_source(name))
        wk = keys.WorkflowKeys(self.ns, wf)
        argv = [wf, repr(time.time()), repr(self.lease), *args]
        return call(lambda: script(keys=wk.script_keys(), args=argv), what=name)

    def _with_sends(self, result: list[Any]) -> Outcome:
        return Outcome(result[0], sends=_pairs(result[1:]))

    def start(self, wf: str, locks: list[str], roots: list[str], submitted_at: float) -> Outcome:
        r = self._run("start", wf, json.dumps(locks), json.dumps(roots), repr(submitted_at))
        if r[0] == "held":
            return Outcome("held", detail=r[1:])
        return self._with_sends(r)

    def claim(self, wf: str, node: str, token: str) -> Outcome:
        r = self._run("claim", wf, node, token)
        if r[0] == "run":
            return Outcome("run", detail=r[1:])
        return self._with_sends(r)

    def complete(self, wf: str, node: str, token: str, outcome: str, error: str = "",
                 result: str = "") -> Outcome:
        return self._with_sends(self._run("complete", wf, node, token, outcome, error, result))

    def reschedule(self, wf: str, node: str, token: str, kind: str, delay: float,
                   error: str = "") -> Outcome:
        r = self._run("reschedule", wf, node, token, kind, repr(delay), error)
        if r[0] == "ok":
            return Outcome("ok", detail=r[1:])
        return self._with_sends(r)

    def relet(self, wf: str, node: str) -> Outcome:
        r = self._run("relet", wf, node)
        return Outcome(r[0], detail=r[1:])

    def cancel(self, wf: str, user: str) -> Outcome:
        r = self._run("cancel", wf, user)
        if r[0] == "invalid":
            return Outcome("invalid", detail=r[1:])
        return self._with_sends(r)

    def resume(self, wf: str, user: str) -> Outcome:
        r = self._run("resume", wf, user)
        if r[0] in ("invalid", "held"):
            return Outcome(r[0], detail=r[1:])
        return self._with_sends(r)

    def decide(self, wf: str, node: str, decision: dict[str, Any], detail: str) -> Outcome:
        r = self._run("decide", wf, node, json.dumps(decision, sort_keys=True), detail)
        return Outcome(r[0], detail=r[1:])

    def progress(self, wf: str, node: str, detail: str, data: dict[str, Any]) -> bool:
        return bool(self._run("progress", wf, node, detail, json.dumps(data, default=str)))
