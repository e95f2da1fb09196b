"""Every Redis key the engine uses, built here and nowhere else.

All keys start with the settings' ``namespace`` so several installations can share one Redis.
Per-workflow keys hang under ``<ns>:wf:<id>``. The Lua scripts receive the keys of
``SCRIPT_KEYS`` as ``KEYS``, in its order (``WorkflowKeys.script_keys()``), bound to the
locals ``K_<NAME>`` by a prelude that ``scripts.py`` generates from the same table; they never
build a key themselves, except the three prefixes (``K_GREADY``, ``K_LOCK``, ``K_MEMO``: per-group
ready lists, locks, node memos) which they extend with a group, lock or node name.

When a workflow ends, every key under ``<ns>:wf:<id>`` expires after the retention it was
submitted with (meta field ``retention``, ms; ``Settings.retention_days``); one written after
the end, by a late copy of a step or the client, expires with them (``lua/keep.lua``). The
audit record, the lock keys and the indexes are not workflow keys and stay (the client drops
index entries whose workflow has expired when it lists them). ``long_lived`` names every key of the
namespace that may outlive a workflow's retention; any other key left after it is a leak
(``tests/engine/test_no_leaked_keys.py`` lists the namespace and checks it).

Among the meta fields, ``params`` holds the resolved params (defaults applied, secrets
redacted) and ``given`` the params as the user typed them (JSON object in the order given,
values as text such as ``"1h30m"`` or lists of text, secrets redacted); ``given`` is absent
on workflows submitted before it was recorded or without a command line. ``moves_data``
is 1 when the runbook makes Ceph move data (``Dag.moves_data``; absent or 0: it does not).
``failed_kept`` names
a failed node that a retry left as it was (``lua/resume.lua``): the workflow ends failed with
it even when everything retried succeeds. The audit record says who resumed (``resumed_by``,
``resumed_at``, ``resumed_from``: the step of ``resume --from``, ``resumes``) or retried
(``retried_by``, ``retried_at``, ``retried_step``, ``retries``).

The history (``history``) is the one key outside ``<ns>:``, on purpose: a worker's Redis ACL
may then write ``<ns>:*`` (everything the engine and its tasks write) and only read the
history, so no task can rewrite it (``docs/history.md``). The control path appends to it in
the same script as the action it records: it passes ``CONTROL_SCRIPT_KEYS`` after
``SCRIPT_KEYS``; a worker's calls of the same scripts do not, and then they write no entry.
Its entries never expire with a workflow; the stream is capped instead.

Every time here (epoch seconds) is Redis's ``TIME``: the scripts read it themselves, and
submit reads it for ``submitted_at``; no worker's or client's clock is written. The meta field
``roots`` (JSON list) names the main root nodes start queues, and ``written`` is set to 1 by
the submit's last write: a workflow still ``submitting`` without it was left half-written
(the reconciler removes it after ``Settings.submit_grace_seconds``, its audit ``outcome``
saying so; with it, it starts it and the audit record's ``note`` says so). The meta field
``format`` is ``FORMAT``, the layout of the workflow's keys that submit wrote; a reader refuses
a workflow of another format (written by a newer or older cephflow) with
``WorkflowFormatUnknown`` instead of misreading it; a workflow without the field was written
before it existed, in format 1.

    <ns>:workflows            zset   workflow id -> submitted_at (listing, newest first)
    <ns>:workflow-ids         zset   workflow id, score 0 (prefix lookup with ZRANGEBYLEX)
    <ns>:leases               zset   "<wf>|<node>" -> lease expiry (epoch s); reconciler input
    <ns>:submitting           zset   workflow id -> submitted_at, from the submit's first write
                                     until start (or cancel, or the reconciler's discard)
    <ns>:lock:<cluster>:<name> string the id of the workflow holding lock <name> on <cluster>
                                     (meta ``lock_prefix``; a workflow written before
                                     locks were per cluster has none: ``<ns>:lock:<name>``)
    <ns>:running:<cluster>    set    the workflows running on <cluster> (meta
                                     ``running_key``), for its ``max_workflows`` (meta)
    <ns>:holder:<host>:<pid>  string "<wf>|<node>" the worker process <pid> on <host> claimed
                                     last (written by the claim script, TTL one lease,
                                     renewed by its heartbeat); tells a dead worker's leases
                                     from a live one's
    <ns>:audit:<wf>           hash   who, when, runbook, params, outcome
    <ns>.history              stream who did what, when: one entry per action of a person
                                     (``HISTORY_FIELDS``), appended only by the control
                                     path; capped near ``Settings.history_max_entries``
    <ns>:schedule:<name>      hash   a schedule's record (``engine/schedules.py``): the last
                                     fire time claimed, the last outcome, the next fire time
    <ns>:scheduler            string the token of the scheduler that leads (TTL, renewed)
    <ns>:wf:<id>              hash   workflow meta: state, phase, counters, runbook, params,
                                     secrets (values to mask, JSON list; absent: none) ...
    <ns>:wf:<id>:order        list   node ids in topological order
    <ns>:wf:<id>:spec         hash   node -> JSON {step, task, args, retry, timeout, ...}
    <ns>:wf:<id>:state        hash   node -> NodeState value
    <ns>:wf:<id>:deps         hash   node -> dependencies not yet ended
    <ns>:wf:<id>:children     hash   node -> edge-list id of the nodes that wait for it
    <ns>:wf:<id>:parents      hash   node -> edge-list id of the nodes it waits for
    <ns>:wf:<id>:edges        hash   edge-list id -> JSON list of node ids (shared lists)
    <ns>:wf:<id>:joins        hash   join id -> 1 (invisible nodes counting down a shared set)
    <ns>:wf:<id>:join-of      hash   node -> the join it waits for (instead of its parents)
    <ns>:wf:<id>:resent       hash   node -> times the reconciler re-sent it since its claim
    <ns>:wf:<id>:relay        hash   node -> 1: a kept node that passes a re-run redo node's
                                     end on to what comes after it (set by resume)
    <ns>:wf:<id>:members      hash   expander node -> JSON list of the members its runtime
                                     fan-out wrote (set once, by the expand script)
    <ns>:wf:<id>:fanin        hash   expander node -> the join the nodes after its step wait
                                     for (counts the expander and every member down)
    <ns>:wf:<id>:cleanup      hash   node -> 1 for every ``finally`` node
    <ns>:wf:<id>:skip         hash   node -> 1 for every node whose ``when`` was false
    <ns>:wf:<id>:group        hash   node -> its fan-out group (members of limited groups only)
    <ns>:wf:<id>:glimit       hash   group -> concurrency limit
    <ns>:wf:<id>:gactive      hash   group -> members queued or running now
    <ns>:wf:<id>:gready:<g>   list   members of group g ready but held back by its limit
    <ns>:wf:<id>:token        hash   node -> token of the message allowed to run it
    <ns>:wf:<id>:waiting      hash   node -> 1 while it waits for a poll or retry countdown
    <ns>:wf:<id>:attempt      hash   node -> current try (1-based)
    <ns>:wf:<id>:started      hash   node -> first start (epoch s)
    <ns>:wf:<id>:ended        hash   node -> end (epoch s)
    <ns>:wf:<id>:error        hash   node -> last error
    <ns>:wf:<id>:detail       hash   node -> latest progress line
    <ns>:wf:<id>:worker       hash   node -> who started its latest run: the Celery worker's
                                     name and process (``<name> <host>:<pid>``), set by the
                                     claim that makes it running
    <ns>:wf:<id>:progress     hash   node -> JSON object: the latest measured progress a task
                                     published with a line (``data["progress"]``: for a
                                     weight move ``movement``, see tasks/ceph/pace.py)
    <ns>:wf:<id>:result       hash   node -> JSON result of the task
    <ns>:wf:<id>:events       stream the workflow's events
    <ns>:wf:<id>:facts        hash   fact key -> JSON value
    <ns>:wf:<id>:once         set    "<node>|<key>" markers of StepContext.once
    <ns>:wf:<id>:memo:<node>  hash   memo key -> JSON value
    <ns>:wf:<id>:held         set    main nodes that became ready, or were due for their
                                     next check, while the workflow was paused: queued or
                                     waiting, unleased, not run; ``unpause.lua``
                                     sends each once (meta ``paused_by``, ``paused_at``,
                                     ``pause_reason`` say who paused it, when and why)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass

LEASE_SEPARATOR = "|"

FORMAT = "1"
"""The layout of a workflow's keys and meta fields this cephflow writes and reads (meta
``format``). Change it when a workflow written before the change can no longer be read or run."""

FORMATS_READ = frozenset({FORMAT})
"""The formats this cephflow reads (a meta without ``format`` is format 1)."""


def workflow_prefix(ns: str) -> str:
    """What every key of every workflow starts with (``<ns>:wf:``)."""
    return f"{ns}:wf:"


def workflows(ns: str) -> str:
    return f"{ns}:workflows"


def workflow_ids(ns: str) -> str:
    return f"{ns}:workflow-ids"


def leases(ns: str) -> str:
    return f"{ns}:leases"


def holder_prefix(ns: str) -> str:
    return f"{ns}:holder:"


def holder_id(host: str, pid: int) -> str:
    """A worker process as the claim script names it under ``holder_prefix``."""
    return f"{host}:{pid}"


def holder(ns: str, host: str, pid: int) -> str:
    return f"{holder_prefix(ns)}{holder_id(host, pid)}"


def split_holder(key: str, ns: str) -> tuple[str, int]:
    """``(host, pid)`` of a ``holder`` key."""
    host, _, pid = key.removeprefix(holder_prefix(ns)).rpartition(":")
    return host, int(pid)


def submitting(ns: str) -> str:
    return f"{ns}:submitting"


def lock_prefix(ns: str) -> str:
    return f"{ns}:lock:"


def cluster_lock_prefix(ns: str, cluster: str) -> str:
    """The prefix of cluster ``cluster``'s lock keys: ``host:X`` on one cluster is another
    key than ``host:X`` on another, so neither blocks the other. Submit writes it in the
    meta (``lock_prefix``), where the scripts read it (``take_locks`` in ``_common.lua``)."""
    return f"{lock_prefix(ns)}{cluster}:"


def lock(ns: str, cluster: str, name: str) -> str:
    """The key of lock ``name`` (``host:ceph-osd-17``, as the runbook names it) on ``cluster``."""
    return f"{cluster_lock_prefix(ns, cluster)}{name}"


def cluster_running(ns: str, cluster: str) -> str:
    """The set of the workflows running on ``cluster`` (``max_workflows``); the meta's
    ``running_key``."""
    return f"{ns}:running:{cluster}"


def schedule(ns: str, name: str) -> str:
    return f"{ns}:schedule:{name}"


def scheduler_leader(ns: str) -> str:
    return f"{ns}:scheduler"


def audit(ns: str, wf: str) -> str:
    return f"{ns}:audit:{wf}"


def history(ns: str) -> str:
    """The history stream: ``<ns>.history``, outside ``<ns>:*`` (see the module docstring)."""
    return f"{ns}.history"


HISTORY_FIELDS = ("ts", "action", "user", "host", "workflow", "runbook", "step", "detail")
"""The fields of a history entry, in the order written: ``ts`` (Redis TIME, epoch seconds),
``action`` (``state.HistoryAction``), ``user`` and ``host`` of the process that acted, the
workflow id, its runbook, the step acted on (or empty), and a short ``detail``."""


def long_lived(ns: str) -> dict[str, str]:
    """Every key of the namespace that may outlive a workflow's retention, as a ``SCAN MATCH``
    pattern -> why it stays. Everything else under ``<ns>:`` belongs to one workflow and
    expires with it."""
    return {
        workflows(ns): "the listing index (an expired workflow's entry is dropped when listed)",
        workflow_ids(ns): "the id index (likewise)",
        leases(ns): "the leases of the nodes queued or running now (absent when none)",
        submitting(ns): "workflows between their submit's first write and their start",
        f"{lock_prefix(ns)}*": "a lock, while the workflow that took it has not ended",
        cluster_running(ns, "*"): "a cluster's running workflows (absent when none)",
        f"{holder_prefix(ns)}*": "a worker process's last claim; expires one lease after its "
                                 "last claim or heartbeat",
        audit(ns, "*"): "a workflow's audit record: its history, kept for good",
        history(ns): "the history stream of every action, capped at history_max_entries",
        schedule(ns, "*"): "a schedule's last and next fire (one small hash per schedule)",
        scheduler_leader(ns): "the leading scheduler's token; expires when it stops renewing",
    }


def is_long_lived(key: str, ns: str) -> bool:
    """Whether ``key`` is one of ``long_lived(ns)``."""
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in long_lived(ns))


def lease_member(wf: str, node: str) -> str:
    return f"{wf}{LEASE_SEPARATOR}{node}"


def split_lease_member(member: str) -> tuple[str, str]:
    wf, _, node = member.partition(LEASE_SEPARATOR)
    return wf, node


@dataclass(frozen=True)
class WorkflowKeys:
    """The keys of one workflow."""

    ns: str
    wf: str

    @property
    def base(self) -> str:
        return f"{workflow_prefix(self.ns)}{self.wf}"

    def _k(self, name: str) -> str:
        return f"{self.base}:{name}"

    meta = property(lambda self: self.base)
    order = property(lambda self: self._k("order"))
    spec = property(lambda self: self._k("spec"))
    state = property(lambda self: self._k("state"))
    deps = property(lambda self: self._k("deps"))
    children = property(lambda self: self._k("children"))
    parents = property(lambda self: self._k("parents"))
    edges = property(lambda self: self._k("edges"))
    cleanup = property(lambda self: self._k("cleanup"))
    skip = property(lambda self: self._k("skip"))
    group = property(lambda self: self._k("group"))
    glimit = property(lambda self: self._k("glimit"))
    gactive = property(lambda self: self._k("gactive"))
    gready_prefix = property(lambda self: self._k("gready:"))
    token = property(lambda self: self._k("token"))
    waiting = property(lambda self: self._k("waiting"))
    attempt = property(lambda self: self._k("attempt"))
    started = property(lambda self: self._k("started"))
    ended = property(lambda self: self._k("ended"))
    error = property(lambda self: self._k("error"))
    detail = property(lambda self: self._k("detail"))
    progress = property(lambda self: self._k("progress"))
    result = property(lambda self: self._k("result"))
    events = property(lambda self: self._k("events"))
    facts = property(lambda self: self._k("facts"))
    once = property(lambda self: self._k("once"))
    joins = property(lambda self: self._k("joins"))
    join_of = property(lambda self: self._k("join-of"))
    resent = property(lambda self: self._k("resent"))
    relay = property(lambda self: self._k("relay"))
    members = property(lambda self: self._k("members"))
    fanin = property(lambda self: self._k("fanin"))
    held = property(lambda self: self._k("held"))
    worker = property(lambda self: self._k("worker"))

    memo_prefix = property(lambda self: self._k("memo:"))

    def gready(self, group: str) -> str:
        return f"{self.gready_prefix}{group}"

    def memo(self, node: str) -> str:
        return f"{self.memo_prefix}{node}"

    def script_keys(self) -> list[str]:
        """KEYS for every engine script: ``SCRIPT_KEYS`` built for this workflow, in its order."""
        return [build(self) for build in SCRIPT_KEYS.values()]

    def owned_keys(self) -> list[str]:
        """The workflow's own keys (``OWNED_SCRIPT_KEYS`` built for this workflow)."""
        return [SCRIPT_KEYS[name](self) for name in OWNED_SCRIPT_KEYS]


SCRIPT_KEYS: dict[str, Callable[[WorkflowKeys], str]] = {
    "META": lambda k: k.meta,
    "SPEC": lambda k: k.spec,
    "STATE": lambda k: k.state,
    "DEPS": lambda k: k.deps,
    "CHILDREN": lambda k: k.children,
    "EDGES": lambda k: k.edges,
    "CLEANUP": lambda k: k.cleanup,
    "SKIP": lambda k: k.skip,
    "GROUP": lambda k: k.group,
    "GLIMIT": lambda k: k.glimit,
    "GACTIVE": lambda k: k.gactive,
    "GREADY": lambda k: k.gready_prefix,
    "TOKEN": lambda k: k.token,
    "WAITING": lambda k: k.waiting,
    "ATTEMPT": lambda k: k.attempt,
    "STARTED": lambda k: k.started,
    "ENDED": lambda k: k.ended,
    "ERROR": lambda k: k.error,
    "EVENTS": lambda k: k.events,
    "LEASES": lambda k: leases(k.ns),
    "LOCK": lambda k: lock_prefix(k.ns),
    "AUDIT": lambda k: audit(k.ns, k.wf),
    "PARENTS": lambda k: k.parents,
    "ORDER": lambda k: k.order,
    "RESULT": lambda k: k.result,
    "FACTS": lambda k: k.facts,
    "DETAIL": lambda k: k.detail,
    "WORKFLOWS": lambda k: workflows(k.ns),
    "IDS": lambda k: workflow_ids(k.ns),
    "JOINS": lambda k: k.joins,
    "JOIN_OF": lambda k: k.join_of,
    "RESENT": lambda k: k.resent,
    "ONCE": lambda k: k.once,
    "MEMO": lambda k: k.memo_prefix,
    "RELAY": lambda k: k.relay,
    "MEMBERS": lambda k: k.members,
    "FANIN": lambda k: k.fanin,
    "HOLDER": lambda k: holder_prefix(k.ns),
    "SUBMITTING": lambda k: submitting(k.ns),
    "PROGRESS": lambda k: k.progress,
    "HELD": lambda k: k.held,
    "WORKER": lambda k: k.worker,
}
"""Every key an engine script receives: its Lua name (bound as ``K_<NAME>``) -> its builder.

The order is the order of ``KEYS``: ``script_keys()`` and the generated Lua prelude both walk
this table, so the two can never disagree. Prefixes end with ``:`` (the scripts append a
group, lock or node name).
"""


CONTROL_SCRIPT_KEYS: dict[str, Callable[[WorkflowKeys], str]] = {
    "HISTORY": lambda k: history(k.ns),
}
"""Keys only the control path passes, after ``SCRIPT_KEYS`` (bound as ``K_<NAME>`` too, nil
when not passed): a worker never names them, so its ACL need not allow writing them."""


def _owned_script_keys() -> tuple[str, ...]:
    sample = WorkflowKeys("ns", "wf")
    under = f"{sample.base}:"
    return tuple(name for name, build in SCRIPT_KEYS.items()
                 if (key := build(sample)) == sample.base
                 or (key.startswith(under) and not key.endswith(":")))


OWNED_SCRIPT_KEYS = _owned_script_keys()
"""The names in ``SCRIPT_KEYS`` of the workflow's own keys (under ``<ns>:wf:<id>``, prefixes
left out): the keys that expire with it once it ends, and persist again when it resumes."""
