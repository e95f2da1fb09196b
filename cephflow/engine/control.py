"""``WorkflowControl``: everything that changes a workflow (submit, decide, cancel, resume,
retry, facts).

Submit writes a DAG once, in pipelined batches, then one script takes the workflow's locks
and queues its roots; it never builds a Celery canvas. Every other change is one Lua
transition whose queued nodes are then sent. Who acted is always the OS user of this
process unless the caller names one; the transition that acts also appends who, what and
when to the history (``keys.history``, an ``Actor``), so no action is done unrecorded and
none recorded undone. A refused submit is recorded with its audit record.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import socket
from collections.abc import Mapping
from typing import Any

from cephflow.engine import gates, keys
from cephflow.engine.connection import call
from cephflow.engine.layout import Writes, plan_writes
from cephflow.engine.reader import WorkflowReader
from cephflow.engine.scripts import Actor, Kept, Outcome, Reply, Rerun
from cephflow.engine.state import (
    HistoryAction,
    NodeState,
    Pause,
    WorkflowPhase,
    WorkflowSnapshot,
    WorkflowState,
)
from cephflow.errors import (
    ClusterBusy,
    EngineError,
    InvalidTransition,
    LockHeld,
    RedisOutOfMemory,
    StepNotFound,
    WorkflowNotFound,
)
from cephflow.runbook.barrier import is_barrier
from cephflow.runbook.dag import REDACTED, Dag
from cephflow.suggest import did_you_mean

BATCH = 2000
"""Fields per HSET and commands per pipeline flush when writing a DAG."""


def current_user() -> str:
    """The OS user running this process (recorded as who submitted or decided).

    Read from the effective uid, not ``getpass.getuser()``: that trusts ``$USER`` and
    ``$LOGNAME``, so anyone could approve a gate as someone else by setting them.
    """
    return pwd.getpwuid(os.geteuid()).pw_name


def new_workflow_id() -> str:
    return secrets.token_hex(6)


class WorkflowControl(WorkflowReader):
    """Change workflows in one Redis.

    It extends the reader because a change starts from what is there: a decision first
    reads which gates a name means.
    """

    # -- submit -------------------------------------------------------------------------------

    def submit(self, dag: Dag, *, user: str | None = None,
               given: Mapping[str, Any] | None = None, cluster: str | None = None) -> str:
        """Store ``dag`` as a new workflow, take its locks and queue its roots; returns its id.

        ``given`` are the params as the user typed them, kept for display (meta ``given``);
        a param the DAG holds as a secret is stored redacted whatever value it has here.
        ``cluster`` is the cluster it works on (None: these settings' cluster, or the
        default one; ``Settings.resolve_cluster``): its locks are that cluster's, and it is
        refused (ClusterBusy, nothing left behind) when the cluster runs its
        ``max_workflows`` already. Refusing, not waiting: a plan is made against the
        cluster as it is now, and a workflow that would start hours later on a cluster
        another workflow has changed should be planned again (its operator sees the
        refusal, names the running workflows, and runs it when they end).
        Raises LockHeld (nothing is left behind) when another workflow holds a lock, and
        RedisOutOfMemory (what was written is removed) when Redis is at its maxmemory.
        Two steps, ``write`` then ``start``: a submit that dies between them leaves the
        workflow ``submitting``, which a worker's reconciler finishes or removes after
        ``submit_grace_seconds``.
        """
        user = user or current_user()
        wf = self.write(dag, user=user, given=given, cluster=cluster)
        self.start(wf, dag, user)
        return wf

    def write(self, dag: Dag, *, user: str, given: Mapping[str, Any] | None = None,
              cluster: str | None = None) -> str:
        """The first step of ``submit``: write the workflow (state ``submitting``); its id."""
        wf = new_workflow_id()
        on = self.settings.for_cluster(cluster)
        name = on.cluster_name
        self._precheck_locks(dag, wf, user, name)
        roots, writes = plan_writes(dag)
        now = self._server_time()
        meta = {
            "format": keys.FORMAT, "runbook": dag.runbook, "source": dag.source, "description": dag.description,
            "params": _params_text(dag),
            "locks": json.dumps(dag.locks), "submitted_at": repr(now), "submitted_by": user,
            "cluster": name, "lock_prefix": keys.cluster_lock_prefix(self.ns, name),
            "running_key": keys.cluster_running(self.ns, name),
            "max_workflows": on.max_workflows, "state": WorkflowState.SUBMITTING,
            "phase": WorkflowPhase.MAIN,
            "groups": json.dumps({g.id: g.concurrency for g in dag.groups.values()}),
            "open_main": writes.open_main, "open_cleanup": writes.open_cleanup,
            "roots": json.dumps(roots),
            "cleanup_roots": json.dumps(writes.cleanup_roots), "seq": 0,
            "nodes": len(dag.nodes),
            "retention": int(self.settings.retention_days * 86_400_000),
            "redo": json.dumps([n.id for n in dag.nodes if n.redo_on_resume and not n.cleanup]),
            "moves_data": int(dag.moves_data),
        }
        if dag.secrets:  # in Redis already, in the args that use them; kept here to mask them
            meta["secrets"] = json.dumps(sorted(dag.secrets))
        if given is not None:
            meta["given"] = _given_text(dag, given)
        audit = {
            "workflow": wf, "user": user, "host": socket.gethostname(), "submitted_at": repr(now),
            "runbook": dag.runbook, "source": dag.source, "params": meta["params"],
            "outcome": WorkflowState.SUBMITTING,
        }
        try:
            call(lambda: self._write(wf, dag, meta, audit, writes, now), what="submit")
        except RedisOutOfMemory:
            # what went in before Redis refused, audit record too: no refusal can be written
            self._discard(wf, keys.audit(self.ns, wf))  # (deleting is allowed past maxmemory)
            raise
        return wf

    def start(self, wf: str, dag: Dag, user: str) -> None:
        """The second step of ``submit``: take the locks of the written ``wf`` and queue its
        roots (LockHeld, and the workflow removed, when another workflow holds a lock;
        RedisOutOfMemory, and it removed too, on a Redis that runs no script past maxmemory)."""
        try:
            started = self.transitions.start(wf, actor=self._actor(user))
        except RedisOutOfMemory:
            self._discard(wf, keys.audit(self.ns, wf))  # refused: nothing left to start later
            raise
        if started.status == Reply.HELD:
            lock, holder = started.detail
            self._discard(wf)
            self._refused(wf, dag, user, lock, holder)
            raise LockHeld(lock, holder)
        if started.status == Reply.FULL:
            busy = ClusterBusy(self._cluster_of(wf), int(started.detail[0]),
                               sorted(started.detail[1:]))
            self._discard(wf)
            self._refused(wf, dag, user, outcome=f"refused: {busy}")
            raise busy
        if started.status == Reply.INVALID:  # removed meanwhile: the submit took too long
            self._discard(wf)
            raise EngineError(f"workflow {wf} was removed before it started: its submit took "
                              f"longer than submit_grace_seconds "
                              f"({self.settings.submit_grace_seconds:g}s)")
        self.send(wf, started)

    def _actor(self, user: str) -> Actor:
        """``user`` on this host, as the history records who acted."""
        return Actor(user, socket.gethostname(), self.settings.history_max_entries)

    def _server_time(self) -> float:
        """Redis's clock (epoch seconds): the engine's one clock, as the scripts' ``NOW``."""
        seconds, micros = call(lambda: self.redis.time(), what="time")
        return seconds + micros / 1_000_000

    def _write(self, wf: str, dag: Dag, meta: dict[str, Any], audit: dict[str, str],
               writes: Writes, submitted_at: float) -> None:
        """Write the workflow's meta, audit record, node hashes and order in batches, and
        last the meta's ``written`` (start refuses a workflow without it)."""
        wk = self.workflow_keys(wf)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(wk.meta, mapping=meta)
        pipe.hset(keys.audit(self.ns, wf), mapping=audit)
        pipe.zadd(keys.submitting(self.ns), {wf: submitted_at})
        count = 3
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
        pipe.hset(wk.meta, "written", 1)
        pipe.execute()

    def _cluster_of(self, wf: str) -> str:
        return str(call(lambda: self.redis.hget(self.workflow_keys(wf).meta, "cluster")) or "")

    def _precheck_locks(self, dag: Dag, wf: str, user: str, cluster: str) -> None:
        """Refuse early (before writing anything) when a lock is visibly held on ``cluster``."""
        if not dag.locks:
            return
        names = [keys.lock(self.ns, cluster, n) for n in dag.locks]
        holders = call(lambda: self.redis.mget(names))
        for name, holder in zip(dag.locks, holders, strict=True):
            if holder:
                self._refused(wf, dag, user, name, holder)
                raise LockHeld(name, holder)

    def _refused(self, wf: str, dag: Dag, user: str, lock: str = "", holder: str = "", *,
                 outcome: str | None = None) -> None:
        record = {
            "workflow": wf, "user": user, "host": socket.gethostname(),
            "submitted_at": repr(self._server_time()), "runbook": dag.runbook,
            "params": _params_text(dag),
            "outcome": outcome or f"refused: lock {lock} held by {holder}",
        }
        actor = self._actor(user)
        entry = {"ts": record["submitted_at"], "action": HistoryAction.REFUSED, "user": user,
                 "host": actor.host, "workflow": wf, "runbook": dag.runbook, "step": "",
                 "detail": record["outcome"]}

        def write() -> None:
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(keys.audit(self.ns, wf), mapping=record)
            pipe.xadd(keys.history(self.ns), entry, maxlen=actor.maxlen, approximate=True)
            pipe.execute()

        call(write)

    def _discard(self, wf: str, *also: str) -> None:
        names = [*self.workflow_keys(wf).owned_keys(), *also]

        def remove() -> None:
            pipe = self.redis.pipeline(transaction=False)
            pipe.delete(*names)
            pipe.zrem(keys.submitting(self.ns), wf)
            pipe.execute()

        call(remove)

    # -- facts and decisions --------------------------------------------------------------------

    def set_fact(self, wf: str, key: str, value: Any) -> None:
        self.transitions.keep(wf, Kept.FACT, "", key, json.dumps(value, sort_keys=True, default=str))

    def approve(self, wf: str, node_or_step: str, user: str | None = None, *,
                early: bool = False, note: str | None = None) -> list[gates.GateDecision]:
        """Approve the gate(s) ``node_or_step``; returns what each gate now holds.

        A gate not reached yet (pending) is refused (InvalidTransition) unless ``early``; then
        the decision waits for it. A gate that holds the same decision already is left as it
        is (``GateDecision.already``); one that holds the other decision is refused. ``note``
        is kept with the decision and in the history entry (as a rejection's reason is).
        """
        return self._decide(wf, node_or_step, user or current_user(), "approved", note, early)

    def reject(self, wf: str, node_or_step: str, user: str | None = None,
               reason: str = "", *, early: bool = False) -> list[gates.GateDecision]:
        """Reject the gate(s) ``node_or_step`` (the approval step then fails with the reason).

        The same rules as ``approve``: reached gates only, unless ``early``; a decision is final.
        """
        return self._decide(wf, node_or_step, user or current_user(), "rejected", reason, early)

    def _decide(self, wf: str, target: str, user: str, decision: str,
                reason: str | None, early: bool) -> list[gates.GateDecision]:
        nodes = gates.gate_nodes(self, wf, target)
        for node_id, args in nodes:
            gates.check_approver(args.get("approvers"), user, node_id)
        if not early and len(nodes) > 1:  # refuse before deciding any when one would be
            gates.check_reached(self, wf, [n for n, _ in nodes], decision)
        return [self._decide_one(wf, node_id, user, decision, reason, early)
                for node_id, _ in nodes]

    def _decide_one(self, wf: str, node_id: str, user: str, decision: str,
                    reason: str | None, early: bool) -> gates.GateDecision:
        record = {"decision": decision, "by": user, "reason": reason}  # decide.lua adds "at"
        line = f"{decision} by {user}" + (f": {reason}" if reason else "")
        out = self.transitions.decide(wf, node_id, record, line, early=early,
                                      actor=self._actor(user))
        if out.status == Reply.DECIDED:
            earlier = gates.GateDecision.from_record(node_id, json.loads(out.detail[0]),
                                                     already=True)
            if earlier.decision != decision:
                raise gates.decided_otherwise(wf, earlier)
            return earlier
        if out.status == Reply.NOT_REACHED:
            raise gates.not_reached(wf, node_id, decision)
        if out.status != Reply.OK:
            verb = "approve" if decision == "approved" else "reject"
            raise InvalidTransition(f"cannot {verb} {node_id}: {out.detail[0]}")
        return gates.GateDecision.from_record(node_id, json.loads(out.detail[0]), already=False)

    # -- stop and go again ----------------------------------------------------------------------

    def cancel(self, wf: str, user: str | None = None) -> None:
        """Stop forward progress: running steps finish, then the finally steps run.

        A workflow still ``submitting`` (not started, or its submit died) ends cancelled at
        once: nothing of it runs, and it holds no lock to release."""
        user = user or current_user()
        out = self.transitions.cancel(wf, user, actor=self._actor(user))
        _refuse_unknown(wf, out)
        if out.status == "invalid":
            raise InvalidTransition(f"workflow {wf} has already ended ({out.detail[0]})")
        self.send(wf, out)

    def resume(self, wf: str, user: str | None = None, *, from_step: str | None = None) -> None:
        """Re-run a failed or cancelled workflow from its failed and cancelled steps.

        With ``from_step`` (a step id, or one node id such as ``drain[osd.3]``) that step and
        every step after it run again too, whatever they did, and the workflow may also have
        succeeded; steps before it that succeeded are kept. Either way the ``redo_on_resume``
        set-up steps before a re-run step and the finally steps run again. An unknown step is
        refused (StepNotFound, naming the known ones) and nothing changes.
        """
        user = user or current_user()
        if from_step is None:
            out = self.transitions.resume(wf, user, actor=self._actor(user))
        else:
            nodes = step_nodes(self.snapshot(wf), from_step)
            out = self.transitions.resume(wf, user, Rerun.STEP, nodes, from_step,
                                          actor=self._actor(user))
        _refuse_unknown(wf, out)
        if out.status == Reply.INVALID:
            state = out.detail[0]
            now = "has succeeded" if state == WorkflowState.SUCCEEDED else f"is {state}"
            if from_step is None:
                raise InvalidTransition(
                    f"workflow {wf} {now}: only failed or cancelled workflows resume")
            raise InvalidTransition(f"workflow {wf} {now}: only a failed, cancelled or "
                                    "succeeded workflow resumes from a step")
        self._run_again(wf, out)

    def retry(self, wf: str, step: str, user: str | None = None) -> None:
        """Re-run one failed step of a failed workflow, and the steps after it it stopped.

        ``step`` (a step id or one node id) must have failed: its failed nodes run again
        (with a fan-out's members that were cancelled before they started), then the
        cancelled steps after it whose other parents ended well, then the finally steps, as
        on every resume. Other failed steps stay failed, and so do the cancelled steps that
        wait for them: the workflow then ends failed again, naming one of them, even when the
        retried step succeeds (``resume`` runs them all again). Refused (InvalidTransition,
        saying what state the step is in) unless the workflow failed and the step did too.
        """
        user = user or current_user()
        snap = self.snapshot(wf)
        nodes = step_nodes(snap, step)
        if snap.state is not WorkflowState.FAILED:
            raise InvalidTransition(f"workflow {wf} is {snap.state.value}: only a failed "
                                    "workflow's failed steps are retried")
        states = [snap.nodes[n].state for n in nodes]
        if NodeState.FAILED not in states:
            raise InvalidTransition(f"step {step!r} of workflow {wf} did not fail: it "
                                    f"{_states_text(states)}; only a failed step is retried")
        seeds = [n for n, s in zip(nodes, states, strict=True)
                 if s in (NodeState.FAILED, NodeState.CANCELLED)]
        out = self.transitions.resume(wf, user, Rerun.RETRY, seeds, step,
                                      actor=self._actor(user))
        _refuse_unknown(wf, out)
        if out.status == Reply.INVALID:  # it changed since it was read: nothing was done
            if len(out.detail) > 2:
                raise InvalidTransition(f"step {step!r} of workflow {wf}: {out.detail[1]} is "
                                        f"{out.detail[2]}; only a failed step is retried")
            raise InvalidTransition(f"workflow {wf} is {out.detail[0]}: only a failed "
                                    "workflow's failed steps are retried")
        self._run_again(wf, out)

    def pause(self, wf: str, user: str | None = None, reason: str = "") -> Pause:
        """Hold a running workflow: its running steps finish, no new main step starts, its
        finally steps are never held. Returns the pause, made now or before (then
        unchanged: the first pause's who, when and why stand). Refused (InvalidTransition)
        unless the workflow is running its main part."""
        user = user or current_user()
        out = self.transitions.pause(wf, user, reason, actor=self._actor(user))
        _refuse_unknown(wf, out)
        if out.status == Reply.INVALID:
            raise InvalidTransition(f"workflow {wf} is {out.detail[0]}, past the steps a pause "
                                    "holds: only a running workflow pauses")
        if out.status == Reply.PAUSED:
            by, at, said = out.detail
            return Pause(by=by, at=float(at or 0), reason=said)
        return Pause(by=user, at=float(out.detail[0]), reason=reason)

    def unpause(self, wf: str, user: str | None = None) -> int:
        """Lift the pause and send the steps it held (each once); returns how many.
        Refused (InvalidTransition) when the workflow is not paused."""
        user = user or current_user()
        out = self.transitions.unpause(wf, user, actor=self._actor(user))
        _refuse_unknown(wf, out)
        if out.status == Reply.NOT_PAUSED:
            raise InvalidTransition(f"workflow {wf} is not paused (it is {out.detail[0]})")
        self.send(wf, out)
        return len(out.sends)

    def _run_again(self, wf: str, out: Outcome) -> None:
        """Send what a resume or retry decided; LockHeld when a lock it needs is taken,
        ClusterBusy when its cluster runs its ``max_workflows`` already."""
        if out.status == Reply.HELD:
            raise LockHeld(out.detail[0], out.detail[1])
        if out.status == Reply.FULL:
            raise ClusterBusy(self._cluster_of(wf), int(out.detail[0]), sorted(out.detail[1:]))
        self.send(wf, out)


def step_nodes(snap: WorkflowSnapshot, name: str) -> list[str]:
    """The nodes ``name`` means in ``snap``: one node id, or every node of a step (a fan-out's
    members; a runtime fan-out's expander with them). Finally steps and the compiler's
    barriers are not steps one re-runs. Raises StepNotFound naming the steps there are."""
    main = [n for n in snap.nodes.values() if not n.cleanup and not is_barrier(n)]
    if name in snap.nodes and snap.nodes[name] in main and not snap.nodes[name].expander:
        return [name]  # an expander's id is its step's: that names the step
    found = [n.id for n in main if n.step == name]
    if found:
        return found
    if any(n.step == name or n.id == name for n in snap.nodes.values() if n.cleanup):
        raise StepNotFound(f"{name!r} is a finally step of workflow {snap.id}: the finally "
                           "steps run again on every resume")
    known = list(dict.fromkeys(n.step for n in main))
    error = StepNotFound(f"workflow {snap.id} has no step {name!r}; its steps: "
                         f"{', '.join(known)}")
    error.hint = did_you_mean(name, known)
    raise error


def _states_text(states: list[NodeState]) -> str:
    """``succeeded`` for one node; ``2 succeeded, 1 cancelled`` for a fan-out's members."""
    if len(states) == 1:
        return states[0].value
    counts: dict[str, int] = {}
    for s in states:
        counts[s.value] = counts.get(s.value, 0) + 1
    return ", ".join(f"{v} {k}" for k, v in counts.items())


def _params_text(dag: Dag) -> str:
    """The parameters as stored in the meta and the audit record (sorted JSON)."""
    return json.dumps(dag.params, sort_keys=True, default=str)


def _given_text(dag: Dag, given: Mapping[str, Any]) -> str:
    """The given params as stored in the meta (JSON in the order given), secrets redacted.

    A param is secret when the DAG holds it redacted: the engine redacts again rather than
    trust every caller to have done it.
    """
    shown = {name: REDACTED if dag.params.get(name) == REDACTED else value
             for name, value in given.items()}
    return json.dumps(shown, default=str)


def _refuse_unknown(wf: str, out: Outcome) -> None:
    """WorkflowNotFound when a transition found no workflow ``wf``."""
    if out.status == "invalid" and out.detail[0] == "unknown":
        raise WorkflowNotFound(f"no workflow {wf!r}")
