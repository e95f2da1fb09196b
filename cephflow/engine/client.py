"""``WorkflowClient``: the engine's public API (submit, observe, decide, stop, resume).

The client writes a DAG once, in pipelined batches, then one script takes the workflow's
locks and queues its roots; it never builds a Celery canvas. Reading is cheap: state lives in
hashes (``snapshot``) and every transition in a stream (``events``).
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import socket
import time
from typing import Any

import redis

from cephflow.engine import dispatch, keys
from cephflow.engine.app import make_app, resolve_redis_url
from cephflow.engine.approvals import APPROVAL_TASK, may_approve
from cephflow.engine.connection import call, redis_client
from cephflow.engine.context import LEFT_PREFIX
from cephflow.engine.layout import plan_writes
from cephflow.engine.scripts import Outcome, Transitions
from cephflow.engine.state import (
    Event,
    EventType,
    NodeSnapshot,
    NodeState,
    WorkflowPhase,
    WorkflowSnapshot,
    WorkflowState,
    WorkflowSummary,
)
from cephflow.errors import (
    AmbiguousWorkflowId,
    InvalidTransition,
    LockHeld,
    WorkflowNotFound,
)
from cephflow.runbook.dag import REDACTED, Dag
from cephflow.settings import Settings, get_settings

BATCH = 2000
"""Fields per HSET and commands per pipeline flush when writing a DAG."""


"""The only task whose nodes ``approve`` and ``reject`` decide."""


def current_user() -> str:
    """The OS user running this process (recorded as who submitted or decided).

    Read from the effective uid, not ``getpass.getuser()``: that trusts ``$USER`` and
    ``$LOGNAME``, so anyone could approve a gate as someone else by setting them.
    """
    return pwd.getpwuid(os.geteuid()).pw_name


def _shown_args(spec: dict[str, Any]) -> dict[str, Any]:
    """A node's arguments as views may show them: its secret ones replaced by ``REDACTED``."""
    args = spec.get("args", {})
    secret = set(spec.get("secret_args") or ())
    return {k: REDACTED if k in secret else v for k, v in args.items()} if secret else args


def new_workflow_id() -> str:
    return secrets.token_hex(6)


class WorkflowClient:
    """Submit and control workflows in one Redis.

    ``settings`` defaults to the process settings; ``redis_url`` overrides its Redis (the
    embedded one's socket when neither is given).
    """

    def __init__(self, settings: Settings | None = None, *, redis_url: str | None = None):
        self.settings = settings or get_settings()
        self.redis_url = redis_url or resolve_redis_url(self.settings)
        self.ns = self.settings.namespace
        self.redis: redis.Redis = redis_client(self.redis_url)
        self.transitions = Transitions(self.redis, self.ns, self.settings.lease_seconds)
        self._app = None

    @property
    def app(self):
        """The Celery app used to send messages (created on first use)."""
        if self._app is None:
            self._app = make_app(self.redis_url, self.ns)
        return self._app

    def close(self) -> None:
        self.redis.close()

    def _keys(self, wf: str) -> keys.WorkflowKeys:
        return keys.WorkflowKeys(self.ns, wf)

    def _send(self, wf: str, outcome: Outcome) -> None:
        dispatch.send(self.app, wf, outcome.sends, client=self.redis)

    # -- submit -------------------------------------------------------------------------------

    def submit(self, dag: Dag, *, user: str | None = None) -> str:
        """Store ``dag`` as a new workflow, take its locks and queue its roots; returns its id.

        Raises LockHeld (nothing is left behind) when another workflow holds a lock.
        """
        user = user or current_user()
        wf = new_workflow_id()
        wk = self._keys(wf)
        self._precheck_locks(dag, wf, user)
        roots, writes = plan_writes(dag)
        now = time.time()
        meta = {
            "runbook": dag.runbook, "source": dag.source, "description": dag.description,
            "params": json.dumps(dag.params, sort_keys=True, default=str),
            "locks": json.dumps(dag.locks), "submitted_at": repr(now), "submitted_by": user,
            "cluster": self.settings.cluster_name, "state": WorkflowState.SUBMITTING,
            "phase": WorkflowPhase.MAIN,
            "groups": json.dumps({g.id: g.concurrency for g in dag.groups.values()}),
            "open_main": writes.open_main, "open_cleanup": writes.open_cleanup,
            "cleanup_roots": json.dumps(writes.cleanup_roots), "seq": 0,
            "nodes": len(dag.nodes),
            "retention": int(self.settings.retention_days * 86_400_000),
            "redo": json.dumps([n.id for n in dag.nodes if n.redo_on_resume and not n.cleanup]),
        }
        audit = {
            "workflow": wf, "user": user, "host": socket.gethostname(), "submitted_at": repr(now),
            "runbook": dag.runbook, "source": dag.source, "params": meta["params"],
            "outcome": WorkflowState.SUBMITTING,
        }

        def write() -> None:
            pipe = self.redis.pipeline(transaction=False)
            pipe.hset(wk.meta, mapping=meta)
            pipe.hset(keys.audit(self.ns, wf), mapping=audit)
            count = 2
            for key, mapping in writes.hashes(wk):
                items = list(mapping.items())
                for i in range(0, len(items), BATCH):
                    pipe.hset(key, mapping=dict(items[i:i + BATCH]))
                    count += 1
                    if count >= 50:
                        pipe.execute()
                        count = 0
            order = [n.id for n in dag.nodes]
            for i in range(0, len(order), BATCH):
                pipe.rpush(wk.order, *order[i:i + BATCH])
            pipe.execute()

        call(write, what="submit")
        started = self.transitions.start(wf, dag.locks, roots, now)
        if started.status == "held":
            lock, holder = started.detail
            self._discard(wf)
            self._refused(wf, dag, user, lock, holder)
            raise LockHeld(lock, holder)
        self._send(wf, started)
        return wf

    def _precheck_locks(self, dag: Dag, wf: str, user: str) -> None:
        """Refuse early (before writing anything) when a lock is visibly held."""
        if not dag.locks:
            return
        holders = call(lambda: self.redis.mget([keys.lock(self.ns, n) for n in dag.locks]))
        for name, holder in zip(dag.locks, holders, strict=True):
            if holder:
                self._refused(wf, dag, user, name, holder)
                raise LockHeld(name, holder)

    def _refused(self, wf: str, dag: Dag, user: str, lock: str, holder: str) -> None:
        record = {
            "workflow": wf, "user": user, "host": socket.gethostname(),
            "submitted_at": repr(time.time()), "runbook": dag.runbook,
            "params": json.dumps(dag.params, sort_keys=True, default=str),
            "outcome": f"refused: lock {lock} held by {holder}",
        }
        call(lambda: self.redis.hset(keys.audit(self.ns, wf), mapping=record))

    def _discard(self, wf: str) -> None:
        wk = self._keys(wf)
        names = [k for k in wk.script_keys() if k.startswith(wk.base)] + [wk.order]
        call(lambda: self.redis.delete(*names))

    # -- read ---------------------------------------------------------------------------------

    def resolve_id(self, prefix: str) -> str:
        """The workflow id that ``prefix`` starts; WorkflowNotFound / AmbiguousWorkflowId."""
        prefix = prefix.strip()
        if not prefix:
            raise WorkflowNotFound("no workflow id given")
        if call(lambda: self.redis.exists(self._keys(prefix).meta)):
            return prefix
        found = call(lambda: self.redis.zrangebylex(
            keys.workflow_ids(self.ns), f"[{prefix}", f"[{prefix}\x7f", start=0, num=2))
        if not found:
            raise WorkflowNotFound(f"no workflow matches {prefix!r}")
        if len(found) > 1:
            raise AmbiguousWorkflowId(f"{prefix!r} matches several workflows: "
                                      f"{', '.join(found)}, ...")
        return found[0]

    def snapshot(self, wf: str) -> WorkflowSnapshot:
        """The workflow's state, consistent with ``last_event_id`` (read in one transaction)."""
        wk = self._keys(wf)

        def read() -> list[Any]:
            pipe = self.redis.pipeline(transaction=True)
            pipe.hgetall(wk.meta)
            pipe.lrange(wk.order, 0, -1)
            for key in (wk.spec, wk.state, wk.attempt, wk.started, wk.ended, wk.error,
                        wk.detail, wk.parents, wk.edges):
                pipe.hgetall(key)
            pipe.xrevrange(wk.events, count=1)
            return pipe.execute()

        (meta, order, spec, state, attempt, started, ended, error, detail, parents, edges,
         last) = call(read, what="snapshot")
        if not meta:
            raise WorkflowNotFound(f"no workflow {wf!r}")
        lists: dict[str, list[str]] = {}

        def edge_list(list_id: str | None) -> list[str]:
            if not list_id:
                return []
            if list_id not in lists:
                lists[list_id] = json.loads(edges[list_id])
            return lists[list_id]

        nodes: dict[str, NodeSnapshot] = {}
        for node_id in order:
            s = json.loads(spec[node_id])
            nodes[node_id] = NodeSnapshot(
                id=node_id, step=s["step"], task=s["task"],
                after=s.get("after") or edge_list(parents.get(node_id)),
                group=s.get("group"), label=s.get("label"), cleanup=s.get("cleanup", False),
                state=NodeState(state.get(node_id, "pending")),
                attempt=int(attempt.get(node_id, 0)),
                started_at=_float(started.get(node_id)), ended_at=_float(ended.get(node_id)),
                detail=detail.get(node_id), error=error.get(node_id),
                args=_shown_args(s),
            )
        self._queued_since(wf, nodes)
        wf_state = meta.get("state", "running")
        return WorkflowSnapshot(
            id=wf, runbook=meta.get("runbook", ""), params=json.loads(meta.get("params", "{}")),
            state=WorkflowState(wf_state).shown,
            submitted_at=float(meta.get("submitted_at", 0)),
            submitted_by=meta.get("submitted_by", ""), ended_at=_float(meta.get("ended_at")),
            failed_node=meta.get("failed_node"), error=meta.get("error"),
            cluster=meta.get("cluster"), groups=json.loads(meta.get("groups", "{}")),
            nodes=nodes, last_event_id=last[0][0] if last else "0-0",
        )

    def state(self, wf: str) -> WorkflowState:
        """Just the workflow's state (one HGET)."""
        value = call(lambda: self.redis.hget(self._keys(wf).meta, "state"))
        if value is None:
            raise WorkflowNotFound(f"no workflow {wf!r}")
        return WorkflowState(value).shown

    def events(self, wf: str, after_id: str = "0-0", block_ms: int | None = None,
               count: int = 500) -> list[Event]:
        """Events after ``after_id``; waits up to ``block_ms`` when there are none yet."""
        key = self._keys(wf).events
        reply = call(lambda: self.redis.xread({key: after_id}, count=count, block=block_ms),
                     what="events")
        if not reply:
            return []
        return [_event(entry_id, fields) for entry_id, fields in reply[0][1]]

    def wait(self, wf: str, timeout: float | None = None) -> WorkflowState:
        """Block until the workflow ends (or ``timeout`` passes); returns its state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        newest = call(lambda: self.redis.xrevrange(self._keys(wf).events, count=1))
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

    def list_workflows(self, limit: int = 20) -> list[WorkflowSummary]:
        """The most recently submitted workflows, newest first."""
        ids = call(lambda: self.redis.zrevrange(keys.workflows(self.ns), 0, limit - 1))
        fields = ["runbook", "state", "submitted_at", "submitted_by", "ended_at", "failed_node",
                  "error", "nodes", "params", "open_main", "open_cleanup"]
        pipe = self.redis.pipeline(transaction=False)
        for wf in ids:
            pipe.hmget(self._keys(wf).meta, fields)
        rows = call(pipe.execute) if ids else []
        result = []
        expired = []
        for wf, row in zip(ids, rows, strict=True):
            if row[1] is None:
                expired.append(wf)  # its retention passed: only the audit record is left
                continue
            data = dict(zip(fields, row, strict=True))
            # the engine keeps open counters, never a count of ended nodes: derive it
            nodes = int(data["nodes"] or 0)
            still_open = int(data["open_main"] or 0) + int(data["open_cleanup"] or 0)
            result.append(WorkflowSummary(
                id=wf, runbook=data["runbook"] or "",
                state=WorkflowState(data["state"]).shown,
                submitted_at=float(data["submitted_at"] or 0),
                submitted_by=data["submitted_by"] or "", ended_at=_float(data["ended_at"]),
                failed_node=data["failed_node"], error=data["error"],
                nodes=nodes, ended_nodes=max(nodes - still_open, 0),
                params=json.loads(data["params"] or "{}"),
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

    # -- facts ----------------------------------------------------------------------------------

    def get_fact(self, wf: str, key: str, default: Any = None) -> Any:
        raw = call(lambda: self.redis.hget(self._keys(wf).facts, key))
        return default if raw is None else json.loads(raw)

    def set_fact(self, wf: str, key: str, value: Any) -> None:
        text = json.dumps(value, sort_keys=True, default=str)
        call(lambda: self.redis.hset(self._keys(wf).facts, key, text))

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

    def left_changes(self, wf: str) -> list[str]:
        """What the workflow's steps changed and no cleanup undoes (``StepContext.leave``)."""
        facts = call(lambda: self.redis.hgetall(self._keys(wf).facts))
        return sorted(change for key, raw in facts.items() if key.startswith(LEFT_PREFIX)
                      and (change := json.loads(raw)))

    # -- decisions and control ------------------------------------------------------------------

    def approve(self, wf: str, node_or_step: str, user: str | None = None) -> list[str]:
        """Approve the gate(s) ``node_or_step``; returns the node ids decided."""
        return self._decide(wf, node_or_step, user or current_user(), "approved", None)

    def reject(self, wf: str, node_or_step: str, user: str | None = None,
               reason: str = "") -> list[str]:
        """Reject the gate(s) ``node_or_step`` (the approval step then fails with the reason)."""
        return self._decide(wf, node_or_step, user or current_user(), "rejected", reason)

    def _decide(self, wf: str, target: str, user: str, decision: str,
                reason: str | None) -> list[str]:
        nodes = self._gate_nodes(wf, target)
        decided = []
        for node_id, args in nodes:
            _check_approver(args.get("approvers"), user, node_id)
            record = {"decision": decision, "by": user, "at": time.time(), "reason": reason}
            line = f"{decision} by {user}" + (f": {reason}" if reason else "")
            out = self.transitions.decide(wf, node_id, record, line)
            if out.status != "ok":
                raise InvalidTransition(f"cannot {decision[:-1]} {node_id}: {out.detail[0]}")
            decided.append(node_id)
        return decided

    def _gate_nodes(self, wf: str, target: str) -> list[tuple[str, dict[str, Any]]]:
        """The approval gates ``target`` names: only nodes whose task is ``core.approval``.

        ``target`` is a gate's node id, or a step name: the open gates of that step. A step
        with an ``approval:`` shorthand shares its name with the gate the compiler put before
        it (``approve-<step>``); the step's own node is never decided, only its gate.
        """
        wk = self._keys(wf)
        if not call(lambda: self.redis.exists(wk.meta)):
            raise WorkflowNotFound(f"no workflow {wf!r}")
        raw = call(lambda: self.redis.hget(wk.spec, target))
        if raw is not None:
            spec = json.loads(raw)
            if spec.get("task") == APPROVAL_TASK:
                return [(target, spec.get("args", {}))]
        snap = self.snapshot(wf)
        found = [(n.id, n.args) for n in snap.nodes.values()
                 if n.step == target and n.task == APPROVAL_TASK and not n.state.terminal]
        if not found:
            gates = [n for n in snap.nodes.values() if n.task == APPROVAL_TASK]
            open_gates = sorted({n.step for n in gates if not n.state.terminal})
            if open_gates:
                hint = f"; open approval steps: {', '.join(open_gates)}"
            elif gates:
                hint = "; its approval steps have all ended"
            else:
                hint = "; it has no approval steps"
            raise InvalidTransition(
                f"workflow {wf}: {target!r} names no open approval gate{hint}")
        return found

    def cancel(self, wf: str, user: str | None = None) -> None:
        """Stop forward progress: running steps finish, then the finally steps run."""
        out = self.transitions.cancel(wf, user or current_user())
        if out.status == "invalid":
            if out.detail[0] == "unknown":
                raise WorkflowNotFound(f"no workflow {wf!r}")
            raise InvalidTransition(f"workflow {wf} has already ended ({out.detail[0]})")
        self._send(wf, out)

    def resume(self, wf: str, user: str | None = None) -> None:
        """Re-run a failed or cancelled workflow from its failed and cancelled steps."""
        out = self.transitions.resume(wf, user or current_user())
        if out.status == "invalid":
            if out.detail[0] == "unknown":
                raise WorkflowNotFound(f"no workflow {wf!r}")
            raise InvalidTransition(
                f"workflow {wf} is {out.detail[0]}: only failed or cancelled workflows resume")
        if out.status == "held":
            raise LockHeld(out.detail[0], out.detail[1])
        self._send(wf, out)


def _check_approver(approvers: Any, user: str, node_id: str) -> None:
    """Refuse a decision by someone the gate does not list (rule: ``approvals.may_approve``)."""
    if not may_approve(user, approvers):
        listed = [approvers] if isinstance(approvers, str) else list(map(str, approvers))
        raise InvalidTransition(f"{user} may not decide {node_id}: its approvers are "
                                f"{', '.join(listed)}")


def _float(value: str | None) -> float | None:
    return None if value in (None, "") else float(value)


def _event(entry_id: str, fields: dict[str, str]) -> Event:
    return Event(
        id=entry_id, ts=float(fields.get("ts", 0)), type=EventType(fields["type"]),
        node=fields.get("node"), state=fields.get("state"), detail=fields.get("detail"),
        error=fields.get("error"),
        attempt=int(fields["attempt"]) if fields.get("attempt") else None,
        data=json.loads(fields["data"]) if fields.get("data") else {},
    )
