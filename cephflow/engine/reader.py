"""``WorkflowReader``: the engine's read model (find, snapshot, list, follow, wait, audit,
history).

Reading is cheap and changes nothing: state lives in hashes (``snapshot``, ``state``,
``list_workflows``) and every transition in a stream (``events``, ``wait``). A snapshot is
read in one transaction, so it is consistent with the last event it names and a follower
can go on from there.

What is read is masked again with the workflow's secret values (``cephflow.masking``): the
worker masks them before it writes, and this keeps them out of every view and API even if
something was written unmasked.
"""

from __future__ import annotations

import json
import time
from typing import Any

from cephflow.engine import keys
from cephflow.engine.binding import EngineBinding
from cephflow.engine.connection import call
from cephflow.engine.context import LEFT_PREFIX
from cephflow.engine.state import (
    Event,
    EventType,
    HistoryEntry,
    NodeSnapshot,
    NodeState,
    Pause,
    WorkflowSnapshot,
    WorkflowState,
    WorkflowSummary,
)
from cephflow.errors import AmbiguousWorkflowId, WorkflowFormatUnknown, WorkflowNotFound
from cephflow.masking import Masker
from cephflow.runbook.dag import REDACTED

HISTORY_PAGE = 500
"""History entries read per XREVRANGE while filtering for ``history``."""

MASKERS_KEPT = 256
"""Workflows whose maskers a reader keeps (their secrets never change after submit)."""


class WorkflowReader(EngineBinding):
    """Read workflows from one Redis; nothing here changes them."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._maskers: dict[str, Masker] = {}

    def _masker(self, wf: str) -> Masker:
        """The masker of ``wf``'s secrets (read once: they never change after submit)."""
        found = self._maskers.get(wf)
        if found is None:
            stored = call(lambda: self.redis.hget(self.workflow_keys(wf).meta, "secrets"),
                          what="secrets")
            found = self._keep_masker(wf, stored)
        return found

    def _keep_masker(self, wf: str, stored: str | None) -> Masker:
        """The masker of ``wf`` from its meta field ``secrets`` (JSON list, or None)."""
        found = self._maskers.get(wf)
        if found is None:
            found = Masker(json.loads(stored) if stored else ())
            if len(self._maskers) >= MASKERS_KEPT:
                self._maskers.clear()
            self._maskers[wf] = found
        return found

    def resolve_id(self, prefix: str) -> str:
        """The workflow id that ``prefix`` starts; WorkflowNotFound / AmbiguousWorkflowId."""
        prefix = prefix.strip()
        if not prefix:
            raise WorkflowNotFound("no workflow id given")
        if call(lambda: self.redis.exists(self.workflow_keys(prefix).meta)):
            return self._readable(prefix)
        found = call(lambda: self.redis.zrangebylex(
            keys.workflow_ids(self.ns), f"[{prefix}", f"[{prefix}\x7f", start=0, num=2))
        if not found:
            raise WorkflowNotFound(f"no workflow matches {prefix!r}")
        if len(found) > 1:
            raise AmbiguousWorkflowId(f"{prefix!r} matches several workflows: "
                                      f"{', '.join(found)}, ...")
        return self._readable(found[0])

    def _readable(self, wf: str) -> str:
        """``wf``, or WorkflowFormatUnknown when its meta ``format`` is not one this reads.

        Every command that names a workflow resolves its id here first, so a workflow of
        another format is refused before anything reads or changes it.
        """
        _check_format(wf, call(lambda: self.redis.hget(self.workflow_keys(wf).meta, "format"),
                               what="format"))
        return wf

    def snapshot(self, wf: str) -> WorkflowSnapshot:
        """The workflow's state, consistent with ``last_event_id`` (read in one transaction)."""
        wk = self.workflow_keys(wf)

        def read() -> list[Any]:
            pipe = self.redis.pipeline(transaction=True)
            pipe.hgetall(wk.meta)
            pipe.lrange(wk.order, 0, -1)
            for key in (wk.spec, wk.state, wk.attempt, wk.started, wk.ended, wk.error,
                        wk.detail, wk.parents, wk.edges, wk.progress, wk.worker):
                pipe.hgetall(key)
            pipe.xrevrange(wk.events, count=1)
            return pipe.execute()

        (meta, order, spec, state, attempt, started, ended, error, detail, parents, edges,
         progress, worker, last) = call(read, what="snapshot")
        if not meta:
            raise WorkflowNotFound(f"no workflow {wf!r}")
        _check_format(wf, meta.get("format"))
        masker = self._keep_masker(wf, meta.get("secrets"))
        lists: dict[str, list[str]] = {}

        def edge_list(list_id: str | None) -> list[str]:
            if not list_id:
                return []
            if list_id not in lists:
                lists[list_id] = json.loads(edges[list_id])
            return lists[list_id]

        nodes: dict[str, NodeSnapshot] = {}
        for node_id in _members_after_expanders(order, spec):
            s = json.loads(spec[node_id])
            nodes[node_id] = NodeSnapshot(
                id=node_id, step=s["step"], task=s["task"],
                after=s.get("after") or edge_list(parents.get(node_id)),
                group=s.get("group"), label=s.get("label"), cleanup=s.get("cleanup", False),
                state=NodeState(state.get(node_id, "pending")),
                attempt=int(attempt.get(node_id, 0)),
                started_at=_float(started.get(node_id)), ended_at=_float(ended.get(node_id)),
                detail=_masked(masker, detail.get(node_id)),
                progress=_progress(masker, progress.get(node_id)),
                error=_masked(masker, error.get(node_id)),
                args=_shown_args(s), expander="expand" in s, worker=worker.get(node_id),
            )
        self._queued_since(wf, nodes)
        wf_state = meta.get("state", "running")
        return WorkflowSnapshot(
            id=wf, runbook=meta.get("runbook", ""), params=json.loads(meta.get("params", "{}")),
            given=_json_or_none(meta.get("given")),
            state=WorkflowState(wf_state).shown,
            submitted_at=float(meta.get("submitted_at", 0)),
            submitted_by=meta.get("submitted_by", ""), ended_at=_float(meta.get("ended_at")),
            failed_node=meta.get("failed_node"), error=_masked(masker, meta.get("error")),
            cluster=meta.get("cluster"), groups=json.loads(meta.get("groups", "{}")),
            pause=_masked_pause(masker, Pause.from_meta(meta)),
            moves_data=meta.get("moves_data") == "1", nodes=nodes, last_event_id=last[0][0] if last else "0-0",
        )

    def version(self, wf: str) -> str:
        """The id of ``wf``'s last event ("0-0": none yet): every change to a workflow appends
        one (the scripts write state and event together), so a snapshot read at this id is
        still current while it is the last. WorkflowNotFound once the workflow is gone."""
        wk = self.workflow_keys(wf)

        def read() -> list[Any]:
            pipe = self.redis.pipeline(transaction=True)
            pipe.exists(wk.meta)
            pipe.xrevrange(wk.events, count=1)
            return pipe.execute()

        exists, last = call(read, what="version")
        if not exists:
            raise WorkflowNotFound(f"no workflow {wf!r}")
        return last[0][0] if last else "0-0"

    def expanded(self, wf: str, expander: str) -> list[NodeSnapshot]:
        """The members runtime fan-out ``expander`` wrote, as it wrote them (pending, after
        it), in their order: what a follower adds when it reads the ``expanded`` event."""
        wk = self.workflow_keys(wf)
        listed = call(lambda: self.redis.hget(wk.members, expander), what="members")
        ids = json.loads(listed) if listed else []  # an empty Lua table encodes as {}
        if not ids:
            return []
        specs = call(lambda: self.redis.hmget(wk.spec, ids), what="members")
        out = []
        for node_id, text in zip(ids, specs, strict=True):
            s = json.loads(text)
            out.append(NodeSnapshot(
                id=node_id, step=s["step"], task=s["task"], after=[expander],
                group=s.get("group"), label=s.get("label"), cleanup=s.get("cleanup", False),
                args=_shown_args(s)))
        return out

    def output(self, wf: str, node: str) -> dict[str, Any] | None:
        """The output ``node`` keeps (what its task returned), secrets masked; None if none."""
        text = call(lambda: self.redis.hget(self.workflow_keys(wf).result, node), what="output")
        if not text:
            return None
        return json.loads(self._masker(wf).text(text))

    def _queued_since(self, wf: str, nodes: dict[str, NodeSnapshot]) -> None:
        """Fill ``queued_since`` of the queued nodes from their leases (set at dispatch, and
        renewed only by a worker's reconciler: with no worker running it is the dispatch)."""
        queued = [n for n in nodes.values() if n.state is NodeState.QUEUED]
        if not queued:
            return
        members = [keys.lease_member(wf, n.id) for n in queued]
        scores = call(lambda: self.redis.zmscore(keys.leases(self.ns), members), what="leases")
        for node, score in zip(queued, scores, strict=True):
            if score is not None:
                node.queued_since = float(score) - self.settings.lease_seconds

    def state(self, wf: str) -> WorkflowState:
        """Just the workflow's state (one HGET)."""
        value = call(lambda: self.redis.hget(self.workflow_keys(wf).meta, "state"))
        if value is None:
            raise WorkflowNotFound(f"no workflow {wf!r}")
        return WorkflowState(value).shown

    def events(self, wf: str, after_id: str = "0-0", block_ms: int | None = None,
               count: int = 500) -> list[Event]:
        """Events after ``after_id``; waits up to ``block_ms`` when there are none yet."""
        key = self.workflow_keys(wf).events
        reply = call(lambda: self.redis.xread({key: after_id}, count=count, block=block_ms),
                     what="events")
        if not reply:
            return []
        masker = self._masker(wf)
        return [_event(entry_id, fields, masker) for entry_id, fields in reply[0][1]]

    def wait(self, wf: str, timeout: float | None = None) -> WorkflowState:
        """Block until the workflow ends (or ``timeout`` passes); returns its state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        newest = call(lambda: self.redis.xrevrange(self.workflow_keys(wf).events, count=1))
        last = newest[0][0] if newest else "0-0"
        while True:
            state = self.state(wf)
            if state.terminal:
                return state
            if deadline is not None and time.monotonic() >= deadline:
                return state
            events = self.events(wf, last, block_ms=500, count=1000)
            if events:
                last = events[-1].id

    def list_workflows(self, limit: int | None = 20) -> list[WorkflowSummary]:
        """The ``limit`` most recently submitted workflows (None: all), newest first."""
        last = -1 if limit is None else limit - 1
        ids = call(lambda: self.redis.zrevrange(keys.workflows(self.ns), 0, last))
        fields = ["format", "runbook", "state", "submitted_at", "submitted_by", "ended_at", "failed_node",
                  "error", "nodes", "params", "given", "open_main", "open_cleanup", "secrets",
                  "paused_by", "paused_at", "pause_reason", "cluster"]
        pipe = self.redis.pipeline(transaction=False)
        for wf in ids:
            pipe.hmget(self.workflow_keys(wf).meta, fields)
        rows = call(pipe.execute) if ids else []
        result = []
        expired = []
        for wf, row in zip(ids, rows, strict=True):
            if row[2] is None:  # state
                expired.append(wf)  # its retention passed: only the audit record is left
                continue
            data = dict(zip(fields, row, strict=True))
            if (data["format"] or "1") not in keys.FORMATS_READ:
                continue  # not ours to read; `status ID` names it and why
            # the engine keeps open counters, never a count of ended nodes: derive it
            nodes = int(data["nodes"] or 0)
            still_open = int(data["open_main"] or 0) + int(data["open_cleanup"] or 0)
            result.append(WorkflowSummary(
                id=wf, runbook=data["runbook"] or "",
                state=WorkflowState(data["state"]).shown,
                submitted_at=float(data["submitted_at"] or 0),
                submitted_by=data["submitted_by"] or "", ended_at=_float(data["ended_at"]),
                failed_node=data["failed_node"],
                error=_masked(self._keep_masker(wf, data["secrets"]), data["error"]),
                nodes=nodes, ended_nodes=max(nodes - still_open, 0),
                params=json.loads(data["params"] or "{}"), given=_json_or_none(data["given"]),
                pause=Pause.from_meta(data), cluster=data["cluster"],
            ))
        if expired:
            pipe = self.redis.pipeline(transaction=False)
            pipe.zrem(keys.workflows(self.ns), *expired)
            pipe.zrem(keys.workflow_ids(self.ns), *expired)
            call(pipe.execute)
        return result

    def audit(self, wf: str) -> dict[str, str]:
        """The audit record: who, when, runbook, params, outcome (also for refused submits)."""
        return call(lambda: self.redis.hgetall(keys.audit(self.ns, wf)))

    def history(self, workflow: str | None = None, user: str | None = None,
                since: float | None = None, limit: int = 50) -> list[HistoryEntry]:
        """The newest ``limit`` history entries that match, oldest first.

        ``workflow`` is an id or the start of one (the workflow may have expired: the history
        outlives it); ``user`` who acted; ``since`` seconds back from Redis's now (the clock
        that stamped the entries: a stream id is its entry's time in ms). The stream is read
        newest first, a page at a time, until ``limit`` entries matched.
        """
        key = keys.history(self.ns)
        low = "-"
        if since is not None:
            seconds, micros = call(lambda: self.redis.time(), what="time")
            low = str(max(int((seconds + micros / 1_000_000 - since) * 1000), 0))
        found: list[HistoryEntry] = []
        high = "+"
        while len(found) < limit:
            page = call(lambda top=high: self.redis.xrevrange(key, top, low,
                                                              count=HISTORY_PAGE),
                        what="history")
            for entry_id, fields in page:
                if ((workflow is None or fields.get("workflow", "").startswith(workflow))
                        and (user is None or fields.get("user") == user)):
                    found.append(HistoryEntry(id=entry_id, **fields))
                    if len(found) == limit:
                        break
            if len(page) < HISTORY_PAGE:
                break
            high = f"({page[-1][0]}"
        return found[::-1]

    def get_fact(self, wf: str, key: str, default: Any = None) -> Any:
        raw = call(lambda: self.redis.hget(self.workflow_keys(wf).facts, key))
        return default if raw is None else json.loads(raw)

    def facts(self, wf: str, prefix: str = "") -> dict[str, Any]:
        """The workflow's facts whose key starts with ``prefix`` (key -> value)."""
        raw = call(lambda: self.redis.hgetall(self.workflow_keys(wf).facts), what="facts")
        return {k: json.loads(v) for k, v in raw.items() if k.startswith(prefix)}

    def left_changes(self, wf: str) -> list[str]:
        """What the workflow's steps changed and no cleanup undoes (``StepContext.leave``)."""
        facts = call(lambda: self.redis.hgetall(self.workflow_keys(wf).facts))
        masker = self._masker(wf)
        return sorted(masker.text(str(change)) for key, raw in facts.items()
                      if key.startswith(LEFT_PREFIX) and (change := json.loads(raw)))


def _shown_args(spec: dict[str, Any]) -> dict[str, Any]:
    """A node's arguments as views may show them: its secret ones replaced by ``REDACTED``."""
    args = spec.get("args", {})
    secret = set(spec.get("secret_args") or ())
    return {k: REDACTED if k in secret else v for k, v in args.items()} if secret else args


def _check_format(wf: str, stored: str | None) -> None:
    """WorkflowFormatUnknown unless ``stored`` (meta ``format``; None: written before the
    field, format 1) is a format this cephflow reads."""
    if (stored or "1") not in keys.FORMATS_READ:
        raise WorkflowFormatUnknown(
            f"workflow {wf} is stored in format {stored!r}, which this cephflow does not read "
            f"(it reads {', '.join(sorted(keys.FORMATS_READ))})")


def _json_or_none(value: str | None) -> Any:
    """A JSON meta field, or None where the workflow has none (older than the field)."""
    return None if value is None else json.loads(value)


def _members_after_expanders(order: list[str], spec: dict[str, str]) -> list[str]:
    """``order`` with each runtime fan-out's members (appended when it expanded) moved to
    just after their expander, where the DAG's order has them."""
    expanders = [n for n in order if '"expand":' in spec[n] and "expand" in json.loads(spec[n])]
    if not expanders:
        return order
    steps = {json.loads(spec[n])["step"]: n for n in expanders}
    members: dict[str, list[str]] = {n: [] for n in expanders}
    rest: list[str] = []
    for n in order:
        group = json.loads(spec[n]).get("group") if n.endswith("]") else None
        owner = steps.get(group) if group else None
        (members[owner] if owner else rest).append(n)
    out: list[str] = []
    for n in rest:
        out.append(n)
        out.extend(members.get(n, ()))
    return out


def _masked_pause(masker: Masker, pause: Pause | None) -> Pause | None:
    """``pause`` with its reason masked (a reason may quote a secret by mistake)."""
    if pause is None or not pause.reason:
        return pause
    return pause.model_copy(update={"reason": masker.text(pause.reason)})


def _float(value: str | None) -> float | None:
    return None if value in (None, "") else float(value)


def _masked(masker: Masker, text: str | None) -> str | None:
    return None if text is None else masker.text(text)


def _progress(masker: Masker, text: str | None) -> dict[str, Any] | None:
    """A node's kept progress (JSON object), masked like its progress line."""
    return masker.value(json.loads(text)) if text else None


def _event(entry_id: str, fields: dict[str, str], masker: Masker) -> Event:
    """One stream entry as an ``Event`` (the stream holds text; ``data`` is JSON), masked."""
    return Event(
        id=entry_id, ts=float(fields.get("ts", 0)), type=EventType(fields["type"]),
        node=fields.get("node"), state=fields.get("state"),
        detail=_masked(masker, fields.get("detail")), error=_masked(masker, fields.get("error")),
        attempt=int(fields["attempt"]) if fields.get("attempt") else None,
        worker=fields.get("worker") or None, data=masker.value(json.loads(fields["data"])) if fields.get("data") else {},
    )
