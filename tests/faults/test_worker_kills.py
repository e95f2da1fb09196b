"""A 2,000-step workflow whose workers are killed with SIGKILL at 20 seeded moments.

Each of the 20 seeds draws one kill (``Kill``): a whole worker (its process group: the main
process with the messages it holds, and its pool) or one pool process, running a step or
idle, once a count of steps has run; or the pool process running a given step once its
effect is done (the step holds there): the window in which a kill makes an effect run twice.
The moments fall in each seed's own stretch of the run, so the kills spread over the whole
workflow. Two workers serve it; a killed worker is replaced at once while the other goes on,
a killed pool process is replaced by Celery (which hands its message back: a redelivery).
Kills wait on progress, never on time, so a seed kills at the same point on any machine.

The steps are ``test.effect``: one atomic script counts the run and appends its pid and the
token the engine holds for the node at that moment (the claim's). The at-least-once design
(``lua/claim.lua``, ``lua/relet.lua``, ``lua/complete.lua``) allows a second run of a node
only when the run before it was cut off before its completion was recorded: the reconciler
then gives the node a new token, which voids the old run's completion. So the test tells:

- the run that counted: its token is the node's final one; exactly one per node;
- a run a kill cut off between its effect and its completion: its token was voided, and its
  pid is one the test killed, each killed process at most once (one step in flight each).

The attempt count cannot tell them apart: a re-send after a lost run is not a retry and keeps
the attempt (``relet.lua``). The 20 kills share one run: twenty fresh 2,000-step runs would
not fit the suite's time.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import psutil
import pytest

from cephflow.engine.client import WorkflowClient
from cephflow.engine.keys import WorkflowKeys
from cephflow.engine.state import EventType, WorkflowState
from cephflow.settings import Settings
from tests.engine.recorded import recorded
from tests.engine.support import dag, node
from tests.fixtures.celery_worker import LEASE_SECONDS, CeleryWorker
from tests.fixtures.services import wait_until

pytestmark = [pytest.mark.services, pytest.mark.slow]

NS = "cfkills"
SEEDS = range(20)
STAGES, WIDTH, SLOTS = 2, 1000, 8
"""2,000 steps: two fan-outs of 1,000, the second after the whole first, each running at most
8 members at once (a ``foreach`` with a concurrency limit, as runbooks drain OSDs). A step a
kill cuts off holds its slot until its lease expires while the other slots go on, and the
queue never holds more than 8 steps, so none waits there long enough to be sent twice."""
STRETCH = 95
"""Seed i kills once after i * STRETCH + 1 .. (i + 1) * STRETCH - 1 steps have run: the last
kill lands at least 100 steps before the end, so the workflow is still running."""
WORKER, PROCESS, IN_FLIGHT = "worker", "process", "in-flight"
HOLD = 30.0
"""Seconds a step held for an in-flight kill waits (it is killed long before)."""


@dataclass(frozen=True)
class Kill:
    """One seed's kill. ``worker``: a whole worker, after ``after`` steps have run;
    ``process``: one of its pool processes (running a step or idle) then; ``in-flight``: the
    process running step number ``after`` once its effect is done (the step holds there), the
    window in which a kill makes a step's effect run twice."""

    seed: int
    after: int
    kind: str
    pick: int

    @classmethod
    def drawn(cls, seed: int) -> Kill:
        rng = random.Random(seed)
        after = seed * STRETCH + rng.randrange(1, STRETCH)
        draw = rng.random()
        kind = WORKER if draw < 0.25 else IN_FLIGHT if draw < 0.6 else PROCESS
        return cls(seed=seed, after=after, kind=kind, pick=rng.randrange(4))

    @property
    def held(self) -> str:
        """The step an in-flight kill cuts off."""
        return f"s{self.after // WIDTH}[{self.after % WIDTH}]"


def staged_effects(plan: list[Kill]):
    held = {k.held for k in plan if k.kind == IN_FLIGHT}
    nodes, prev = [], []
    for s in range(STAGES):
        ids = [f"s{s}[{i}]" for i in range(WIDTH)]
        nodes += [node(i, task="test.effect", after=prev, group=f"s{s}",
                       args={"hold": HOLD} if i in held else {}) for i in ids]
        prev = ids
    return dag(*nodes, groups={f"s{s}": SLOTS for s in range(STAGES)})


def pool_pids(worker: CeleryWorker) -> list[int]:
    assert worker.proc is not None
    return sorted(p.pid for p in psutil.Process(worker.proc.pid).children())


def test_twenty_seeded_worker_kills_lose_no_step_and_repeat_only_cut_off_runs(
        redis_server, tmp_path):
    """Two workers (2 pool processes each); a whole worker killed is replaced at once, its
    replacement taking messages a few seconds later, while the other goes on."""
    redis_server.flush_namespace(NS)
    client = WorkflowClient(Settings(redis_url=redis_server.url, namespace=NS,
                                     lease_seconds=LEASE_SECONDS))
    r = client.redis
    plan = [Kill.drawn(seed) for seed in SEEDS]
    d = staged_effects(plan)
    assert len(d.nodes) == 2000
    started: list[CeleryWorker] = []

    def launch() -> CeleryWorker:
        worker = CeleryWorker(redis_server.url, tmp_path, namespace=NS, name=f"k{len(started)}")
        started.append(worker)
        return worker.launch()

    workers = [launch(), launch()]
    killed: set[int] = set()
    cut: dict[str, int] = {}
    landed: list[int] = []
    # the workers are killed here, never Redis: the shared server's fsync of every write
    # (3 ms a write on this machine kind against 0.2 ms) would make most of the run's time
    fsync = r.config_get("appendfsync")["appendfsync"]
    r.config_set("appendfsync", "everysec")
    try:
        wait_until(lambda: all(w.ready for w in workers), timeout=60, what="two workers ready")
        began = time.monotonic()
        wf = client.submit(d, user="tester")
        runs_key = recorded(NS, wf, "runs")
        held_key = recorded(NS, wf, "held")
        for kill in plan:
            if kill.kind == IN_FLIGHT:
                pid = int(wait_until(lambda: r.hget(held_key, kill.held), timeout=60,  # noqa: B023
                                     what=f"seed {kill.seed}: {kill.held} held"))
                if pid not in killed:  # else an earlier kill of its worker cut it off
                    psutil.Process(pid).kill()
                    killed.add(pid)
                cut[kill.held] = pid
                landed.append(r.hlen(runs_key))
                continue
            ran = wait_until(lambda: max(r.hlen(runs_key) - kill.after + 1, 0),  # noqa: B023
                             timeout=60, what=f"seed {kill.seed}: {kill.after} steps run")
            assert client.state(wf) is WorkflowState.RUNNING, f"ended before seed {kill.seed}"
            ready = wait_until(lambda: [w for w in workers if w.ready and pool_pids(w)],
                               timeout=60, what="a worker to kill")
            target = ready[kill.pick % len(ready)]
            pool = pool_pids(target)
            if kill.kind == WORKER:
                killed.update([target.proc.pid, *pool])
                target.kill9()
                workers.remove(target)
                workers.append(launch())
            else:
                victim = pool[kill.pick // 2 % len(pool)]
                psutil.Process(victim).kill()
                killed.add(victim)
            landed.append(ran + kill.after - 1)
        assert client.wait(wf, timeout=90) is WorkflowState.SUCCEEDED
        elapsed = time.monotonic() - began
        ids = {n.id for n in d.nodes}
        wk = WorkflowKeys(NS, wf)
        assert {n: s for n, s in r.hgetall(wk.state).items() if n in ids} == dict.fromkeys(
            ids, "succeeded")
        changes = [f for _, f in r.xrange(wk.events) if f["type"] == EventType.NODE_STATE]
        succeeded = Counter(f["node"] for f in changes if f["state"] == "succeeded")
        assert set(succeeded) == ids and set(succeeded.values()) == {1}, "a step ended twice"

        final = r.hgetall(wk.token)
        counted: dict[str, int] = Counter()
        cut_off: dict[int, list[str]] = defaultdict(list)
        grants = Counter()
        for line in r.lrange(recorded(NS, wf, "executions"), 0, -1):
            step, pid, token = line.split(" ")
            grants[(step, token)] += 1
            if token == final[step]:
                counted[step] += 1
            else:
                cut_off[int(pid)].append(step)
        assert set(counted) == ids, f"no counted run of {sorted(ids - set(counted))[:5]}"
        assert set(counted.values()) == {1}, "a step ran twice on one grant"
        assert set(grants.values()) == {1}, "one token ran twice"
        strangers = {pid: steps for pid, steps in cut_off.items() if pid not in killed}
        assert not strangers, f"runs voided in processes never killed: {strangers}"
        assert all(len(steps) == 1 for steps in cut_off.values()), cut_off
        runs = {k: int(v) for k, v in r.hgetall(runs_key).items()}
        extra = {step for steps in cut_off.values() for step in steps}
        assert runs == {s: 1 + (s in extra) for s in ids}  # the effect's own count agrees
        assert all(cut_off[pid] == [step] for step, pid in cut.items()), "in-flight kills"
        resent = sum(1 for f in changes if f.get("detail") == "lease expired: sent again")
        assert resent >= 1, "no kill cost a step: the kills did not land in flight"
        assert set(r.hvals(wk.gactive)) <= {"0"}, "a fan-out slot was kept or given twice"
    finally:
        for worker in started:
            worker.stop()
        r.config_set("appendfsync", fsync)
        client.close()
        redis_server.flush_namespace(NS)
    kinds = Counter(k.kind for k in plan)
    print(f"\n2,000 steps, {len(plan)} kills ({dict(kinds)}): "
          f"{elapsed:.1f} s; runs cut off after their effect: {len(extra)}; "
          f"steps re-sent after a lost run: {resent}; kills after {landed} steps")
