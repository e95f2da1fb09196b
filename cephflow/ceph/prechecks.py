"""Before the first change: is the cluster in a state where this work may start?

A careful operator looks before moving data: is the cluster healthy apart from what the work
itself explains (the failed OSD being replaced), has somebody set a flag that would stall or
change the work (``noout``, ``norebalance``...), will the OSDs that stay keep under
``nearfull``/``backfillfull`` once the data has moved, and does every pool keep enough failure
domains for its size (or k+m)? ``evaluate`` answers from one consistent set of reads
(``ClusterView``) and returns every finding, each with Ceph's numbers.

Findings that an operator may knowingly accept (``--force``) are *forceable*; a move that
would pass ``backfillfull``, or leave a pool with fewer failure domains than its size, is not:
Ceph would stall it (``backfill_toofull``) or could never finish it. The same function runs at
plan time (a ``discover`` lookup: a refused plan submits nothing) and as a workflow's first
step (the cluster may have changed in between).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cephflow.ceph.client import CephClient
from cephflow.ceph.models import CrushRule, Health, OsdDump, OsdTree, OsdUsage, PgList

OPERATOR_FLAGS = ("noout", "norebalance", "nobackfill", "norecover", "pause", "pauserd",
                  "pausewr", "noin", "noup", "nodown")
"""Cluster flags that stall or change what a runbook does; set by someone else, they refuse."""

EXPLAINED_BY_FAILED_OSDS = frozenset({
    "OSD_DOWN", "OSD_HOST_DOWN", "PG_DEGRADED", "RECENT_CRASH", "DEVICE_HEALTH",
    "DEVICE_HEALTH_IN_USE", "DEVICE_HEALTH_TOOMANY", "SLOW_OPS",
})
"""Health checks a failed target OSD explains (its daemon died, its PGs lost a copy)."""


@dataclass(frozen=True)
class ClusterView:
    """One set of reads that every check looks at."""

    tree: OsdTree
    dump: OsdDump
    health: Health
    pgs: PgList
    usage: dict[int, OsdUsage]
    rules: dict[int, CrushRule]

    @classmethod
    def read(cls, client: CephClient) -> ClusterView:
        return cls(tree=client.osd_tree(), dump=client.osd_dump(), health=client.health(),
                   pgs=client.pg_ls(), usage=client.osd_df(), rules=client.crush_rules())


@dataclass(frozen=True)
class Finding:
    """One check's answer: ``ok`` lines go into the plan, others refuse the work."""

    check: str
    ok: bool
    message: str
    forceable: bool = True

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"


@dataclass
class Work:
    """What the work will do to the cluster, as the checks need it."""

    leaving: set[int] = field(default_factory=set)
    """OSDs whose data moves away (drained to 0, marked out, or failed and re-created)."""
    failed: set[int] = field(default_factory=set)
    """Target OSDs that are down or failing: the warnings they cause are explained."""
    own_flags: set[str] = field(default_factory=set)
    """Flags this workflow set itself (a resumed run): not someone else's."""


def evaluate(view: ClusterView, work: Work) -> list[Finding]:
    """Every check's finding for ``work`` on the cluster ``view`` shows."""
    return [
        _health(view, work),
        _flags(view, work),
        _other_down(view, work),
        *_capacity(view, work),
        _failure_domains(view, work),
    ]


def refusals(findings: Iterable[Finding], *, force: bool) -> list[Finding]:
    """The findings that refuse the work (forceable ones only without ``force``)."""
    return [f for f in findings if not f.ok and (not f.forceable or not force)]


def _names(osds: Iterable[int]) -> str:
    return ", ".join(f"osd.{o}" for o in sorted(osds)) or "none"


def _health(view: ClusterView, work: Work) -> Finding:
    unexplained = []
    for check in view.health.blocking():
        if check.code == "OSDMAP_FLAGS":
            continue  # judged by the flags check, which knows whose flags they are
        if check.code in EXPLAINED_BY_FAILED_OSDS and work.failed and _only_about(check, work):
            continue
        unexplained.append(f"{check.code} ({check.message})")
    if unexplained:
        return Finding("health", False, f"{view.health.status}: " + "; ".join(unexplained)
                       + " (not explained by this work)")
    explained = [c.code for c in view.health.blocking() if c.code != "OSDMAP_FLAGS"]
    return Finding("health", True, view.health.status
                   + (f" (explained by {_names(work.failed)}: {', '.join(explained)})"
                      if explained else ""))


def _only_about(check, work: Work) -> bool:
    """A check whose detail names OSDs names only the target OSDs (no detail: trust it)."""
    return check.osds <= work.failed


def _flags(view: ClusterView, work: Work) -> Finding:
    theirs = sorted(f for f in view.dump.flags & set(OPERATOR_FLAGS) if f not in work.own_flags)
    if theirs:
        return Finding("flags", False, f"{', '.join(theirs)} set by someone else: this work "
                       "would stall or change under it; unset it, or go on knowingly with --force")
    return Finding("flags", True, "none of " + ", ".join(OPERATOR_FLAGS[:5]) + " set")


def _other_down(view: ClusterView, work: Work) -> Finding:
    down = {i for i, s in view.dump.osds.items()
            if not s.up and s.in_ and not s.destroyed and i not in work.failed}
    if down:
        return Finding("other OSDs", False, f"{_names(down)} down and in, not part of this "
                       "work: their PGs already miss a copy")
    return Finding("other OSDs", True, "every other OSD is up")


def _moving_bytes(view: ClusterView, work: Work) -> int:
    """Bytes that must find a new home: a copy per leaving OSD in a PG's up or acting set,
    and, while failed targets are down, a copy per missing replica of an undersized PG (a
    down OSD has already left the up sets; its copies are rebuilt from the others)."""
    size = {p.id: p.size for p in view.dump.pools.values()}
    total = 0
    for pg in view.pgs.pgs:
        copies = sum(1 for o in set(pg.up) | set(pg.acting) if o in work.leaving)
        if work.failed:
            want = size.get(int(pg.pgid.split(".")[0]), len(pg.up))
            copies += max(0, want - len([o for o in pg.up if o >= 0]))
        total += pg.bytes * copies
    return total


def _capacity(view: ClusterView, work: Work) -> list[Finding]:
    """Spread the leaving data over the OSDs that keep weight, by CRUSH weight."""
    dump = view.dump
    staying = {i: u for i, u in view.usage.items()
               if i not in work.leaving and u.kb > 0 and u.crush_weight > 0
               and dump.osds.get(i) is not None and dump.osds[i].up and dump.osds[i].in_}
    if not work.leaving:
        return [Finding("capacity", True, "no data leaves any OSD")]
    if not staying:
        return [Finding("capacity", False, "no OSD would keep weight", forceable=False)]
    moving_kb = _moving_bytes(view, work) / 1024
    weight = sum(u.crush_weight for u in staying.values())
    after = {i: (u.kb_used + moving_kb * u.crush_weight / weight) / u.kb
             for i, u in staying.items()}
    fullest = max(after, key=lambda i: after[i])
    numbers = (f"{moving_kb / 1024:.1f} MiB move; osd.{fullest} would be {after[fullest]:.1%} "
               f"full (nearfull {dump.nearfull_ratio:.0%}, backfillfull "
               f"{dump.backfillfull_ratio:.0%})")
    if after[fullest] >= dump.backfillfull_ratio:
        over = sorted(i for i, r in after.items() if r >= dump.backfillfull_ratio)
        return [Finding("capacity", False, f"{numbers}: {_names(over)} would pass backfillfull "
                        "and the data would stop moving (backfill_toofull)", forceable=False)]
    if after[fullest] >= dump.nearfull_ratio:
        over = sorted(i for i, r in after.items() if r >= dump.nearfull_ratio)
        return [Finding("capacity", False, f"{numbers}: {_names(over)} would pass nearfull")]
    return [Finding("capacity", True, numbers)]


def failure_domain_problems(view: ClusterView, leaving: set[int]) -> list[str]:
    """Pools that would have fewer failure-domain buckets with weight than their size."""
    tree = view.tree
    problems = []
    for pool in view.dump.pools.values():
        rule = view.rules.get(pool.crush_rule)
        if rule is None or rule.failure_domain not in ("host", "osd"):
            continue
        if rule.failure_domain == "host":
            remaining = [h for h, bucket in tree.hosts.items()
                         if any(i in tree.osds and i not in leaving and tree.osds[i].crush_weight > 0
                                for i in bucket.osds)]
        else:
            remaining = [o for o in tree.osds.values() if o.id not in leaving and o.crush_weight > 0]
        if len(remaining) < pool.size:
            problems.append(f"pool {pool.name} keeps {pool.size} copies on distinct "
                            f"{rule.failure_domain}s but only {len(remaining)} would remain")
    return problems


def _failure_domains(view: ClusterView, work: Work) -> Finding:
    problems = failure_domain_problems(view, work.leaving)
    if problems:
        return Finding("failure domains", False, "; ".join(problems), forceable=False)
    return Finding("failure domains", True, "every pool keeps its size")
