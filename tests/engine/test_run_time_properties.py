"""Property: for random DAGs with run-time conditions, ``needs`` and runtime fan-outs, every
node ends in exactly one of succeeded, skipped, failed or cancelled (one terminal event each),
the one a small reference model of the semantics predicts (``expected_states``); no node
starts before its parents have ended (``started`` >= each parent's ``ended``), a cancelled
node never started, a finally node starts after the whole main part, and each task that ran
ran once; and the outcome is the same with one worker process or four.

The DAGs are built by hand with the fields the compiler writes (``Node.late``,
``Node.expand``) and run on real workers. What is drawn (``random_dags``), in index order,
each node waiting for some earlier ones:

- *sources*: ``test.output`` of ``{"go": bool, "items": [...]}``, nothing decided late, so
  a source that runs always succeeds (its output is there for the nodes that read it);
- *conditional* nodes: ``if`` an ancestor source's ``go`` (or its negation), sometimes also
  ``needs`` an ancestor that may have been skipped;
- *needs* nodes: ``needs`` an ancestor that may have been skipped (a conditional node or a
  runtime fan-out);
- *runtime fan-outs* over an ancestor source's ``items`` (sometimes empty, sometimes with a
  concurrency limit, sometimes with an ``if`` of their own): one member ``X[item]`` per item;
- in half of the examples, one *failure* (``test.fail``, sometimes under an ``if``; or a runtime
  fan-out of ``test.fail`` with concurrency 1, whose first member fails and the held ones are
  cancelled);
- one or two ``finally`` nodes.

Why the failures are deterministic: a failing node is drawn as a barrier. It waits for every
node drawn before it that nothing waits for yet (so every earlier node is its ancestor) and
every node drawn after it waits only for it or later nodes (so is its descendant). When it
fails, no other main node can be queued or running: everything before it has ended and
everything after it is pending, so exactly its descendants end cancelled, whatever the
number of workers. A failing fan-out has concurrency 1 for the same reason: its second
member is held, never queued, when the first fails. Without the barrier, which branch had
started when a step failed would be a race, and the expected states could not be exact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from cephflow.engine import keys
from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import EventType, NodeState, WorkflowState
from cephflow.runbook.dag import Dag, FanOut, Late, Node, StepRef
from cephflow.settings import Settings
from tests.engine.recorded import recorded
from tests.engine.support import dag, node
from tests.fixtures.celery_worker import LEASE_SECONDS, CeleryWorker

pytestmark = [pytest.mark.services, pytest.mark.slow]

OK, SKIP, FAIL, CANCEL = (NodeState.SUCCEEDED, NodeState.SKIPPED, NodeState.FAILED,
                          NodeState.CANCELLED)
ENDED = {OK, SKIP, FAIL, CANCEL}


@dataclass
class Drawn:
    """One drawn node and what the reference model needs to know of it."""

    node: Node
    kind: str
    """source, cond, needs, fan, fail, failfan, plain"""
    parents: list[str]
    value: dict | None = None
    """A source's output."""
    cond: tuple[str, bool] | None = None
    """(source read, wanted go): the node runs when the source's ``go`` equals this."""
    needs: str | None = None
    items_from: str | None = None
    """The source whose ``items`` a fan-out expands over."""


@dataclass
class Drawing:
    nodes: list[Drawn] = field(default_factory=list)
    finals: list[str] = field(default_factory=list)
    groups: dict[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        """One line per node (what a failing example prints), not the whole Node models."""
        lines = [f"{d.node.id} {d.kind} after={d.parents}"
                 + (f" value={d.value}" if d.value else "")
                 + (f" if={d.cond[0]}.go=={d.cond[1]}" if d.cond else "")
                 + (f" needs={d.needs}" if d.needs else "")
                 + (f" items={d.items_from} limit={self.groups.get(d.node.id)}"
                    if d.items_from else "") for d in self.nodes]
        return "\n".join(["Drawing:", *lines, f"finally {self.finals}"])

    def dag(self) -> Dag:
        return dag(*(d.node for d in self.nodes), *self._final_nodes(), groups=self.groups)

    def _final_nodes(self) -> list[Node]:
        return [node(f, task="test.output", after=self.finals[:i], cleanup=True,
                     args={"value": {"final": i}}) for i, f in enumerate(self.finals)]


def _reads(name: str, fanout: bool = False) -> dict[str, StepRef]:
    return {name: StepRef(nodes=[name], fanout=fanout)}


@st.composite
def random_dags(draw, failure: bool) -> Drawing:
    """5-25 main nodes in index order, each waiting for earlier ones (see the module doc);
    with ``failure``, one of them fails when it runs (more would only cancel more)."""
    count = draw(st.integers(5, 25))
    fail_at = draw(st.integers(2, count - 1)) if failure else None
    out = Drawing()
    ancestors: dict[str, set[str]] = {}
    kinds: dict[str, str] = {}
    has_children: set[str] = set()
    floor = 0  # nodes after a failing barrier wait only for it or later nodes
    for i in range(count):
        nid = f"n{i}"
        earlier = [d.node.id for d in out.nodes[floor:]]
        if i == fail_at:
            kind = draw(st.sampled_from(["fail", "failfan"]))
        else:
            kind = draw(st.sampled_from(["source", "source", "cond", "cond", "needs", "fan",
                                         "fan", "plain"])) if i else "source"
        barrier = kind in ("fail", "failfan")
        if barrier:
            parents = [n for n in earlier if n not in has_children] or earlier[-1:]
        elif earlier:
            parents = draw(st.lists(st.sampled_from(earlier), min_size=1, max_size=3,
                                    unique=True))
        else:
            parents = []
        anc = set(parents).union(*(ancestors[p] for p in parents))
        sources = sorted((a for a in anc if kinds[a] == "source"), key=lambda a: int(a[1:]))
        skippable = sorted((a for a in anc if kinds[a] in ("cond", "fan", "needs")),
                           key=lambda a: int(a[1:]))
        if kind in ("cond", "fan", "failfan") and not sources or kind == "needs" and not skippable:
            kind = "source" if not barrier else "fail"
        d = _draw_node(draw, nid, kind, parents, sources, skippable, out)
        out.nodes.append(d)
        ancestors[nid] = anc
        kinds[nid] = kind
        has_children.update(parents)
        if barrier:
            floor = i
    out.finals = [f"fin{j}" for j in range(draw(st.integers(1, 2)))]
    return out


def _draw_node(draw, nid: str, kind: str, parents: list[str], sources: list[str],
               skippable: list[str], out: Drawing) -> Drawn:
    cond = needs = items_from = None
    late: Late | None = None
    if kind == "source":
        value = {"go": draw(st.booleans()),
                 "items": draw(st.lists(st.integers(0, 9), max_size=4, unique=True))}
        return Drawn(node(nid, task="test.output", after=parents, args={"value": value}),
                     kind, parents, value=value)
    if kind in ("cond", "fail") and sources and draw(st.booleans()) or kind == "cond":
        cond = (draw(st.sampled_from(sources)), draw(st.booleans()))
    if kind == "fan" and sources and draw(st.integers(0, 2)) == 0:
        cond = (draw(st.sampled_from(sources)), draw(st.booleans()))
    if kind == "needs" or kind == "cond" and skippable and draw(st.booleans()):
        needs = draw(st.sampled_from(skippable))
    reads: dict[str, StepRef] = {}
    condition = None
    if cond:
        reads.update(_reads(cond[0]))
        condition = (f"{{{{ steps.{cond[0]}.output.go }}}}" if cond[1]
                     else f"{{{{ not steps.{cond[0]}.output.go }}}}")
    if needs:
        reads.update(_reads(needs, fanout=any(
            d.node.id == needs and d.kind == "fan" for d in out.nodes)))
    if kind in ("fan", "failfan"):
        items_from = draw(st.sampled_from(sources))
        reads.update(_reads(items_from))
        concurrency = 1 if kind == "failfan" else draw(st.sampled_from([None, 1, 2]))
        if concurrency:
            out.groups[nid] = concurrency
        task = "test.fail" if kind == "failfan" else "test.output"
        late_args = ({"message": "member {{ osd }}"} if kind == "failfan"
                     else {"value": {"osd": "{{ osd }}"}})
        late = Late(args=late_args, condition=condition, reads=reads)
        n = node(nid, task=task, after=parents, late=late, expand=FanOut(
            items=f"{{{{ steps.{items_from}.output['items'] }}}}", var="osd",
            concurrency=concurrency))
    else:
        if reads:
            late = Late(condition=condition, needs=[needs] if needs else [], reads=reads)
        task, args = ("test.fail", {"message": f"{nid} fails"}) if kind == "fail" else (
            "test.output", {"value": {"id": nid}})
        n = node(nid, task=task, after=parents, args=args, late=late)
    return Drawn(n, kind, parents, cond=cond, needs=needs, items_from=items_from)


def expected_states(drawing: Drawing) -> tuple[dict[str, NodeState], WorkflowState]:
    """The reference model: the final state of every node (members included) by id."""
    state: dict[str, NodeState] = {}
    values: dict[str, dict] = {}
    ran: dict[str, bool] = {}  # did the step run, for ``needs`` (a fan-out: not skipped whole)
    stopped: set[str] = set()  # failed, cancelled, or a fan-out with a failed member
    for d in drawing.nodes:
        nid = d.node.id
        if stopped.intersection(d.parents):
            stopped.add(nid)
            state[nid] = CANCEL  # pending when the failure stopped forward progress
            continue
        if d.needs and not ran[d.needs] or d.cond and values[d.cond[0]]["go"] != d.cond[1]:
            state[nid] = SKIP
            ran[nid] = False
            continue
        ran[nid] = True
        state[nid] = FAIL if d.kind == "fail" else OK
        if d.kind == "fail":
            stopped.add(nid)
        if d.kind == "source":
            values[nid] = d.value
        if d.kind in ("fan", "failfan"):
            items = values[d.items_from]["items"]
            for n, item in enumerate(items):
                if d.kind == "fan":
                    state[f"{nid}[{item}]"] = OK
                else:  # concurrency 1: the first member fails, the held ones are cancelled
                    state[f"{nid}[{item}]"] = FAIL if n == 0 else CANCEL
            if d.kind == "failfan" and items:
                stopped.add(nid)
    for f in drawing.finals:
        state[f] = OK  # finally nodes run whatever the outcome
    return state, WorkflowState.FAILED if stopped else WorkflowState.SUCCEEDED


class Engine:
    """A worker (``processes`` prefork children) and a client on a namespace of their own."""

    def __init__(self, redis_server, log_dir: Path, namespace: str, processes: int):
        self.redis_server = redis_server
        self.namespace = namespace
        redis_server.flush_namespace(namespace)
        self.worker = CeleryWorker(redis_server.url, log_dir, namespace=namespace,
                                   name=namespace, concurrency=processes)
        self.client = WorkflowClient(Settings(redis_url=redis_server.url, namespace=namespace,
                                              lease_seconds=LEASE_SECONDS))
        self.worker.start()

    def close(self) -> None:
        self.worker.stop()
        self.client.close()
        self.redis_server.flush_namespace(self.namespace)

    def run(self, d: Dag) -> tuple[dict[str, NodeState], WorkflowState]:
        """Run ``d`` to its end; check order and what ran; return the states by node id."""
        wf = self.client.submit(d, user="tester")
        final = self.client.wait(wf, timeout=60)
        snap = self.client.snapshot(wf)
        states = {n: s.state for n, s in snap.nodes.items()}
        self.check_order(wf, d, states)
        self.check_ended_once(wf, states)
        return states, final

    def check_ended_once(self, wf: str, states: dict[str, NodeState]) -> None:
        """Each node entered exactly one terminal state, once (the event stream), and it is
        the state it has now."""
        wk = keys.WorkflowKeys(self.namespace, wf)
        ends: dict[str, list[str]] = {}
        for _, fields in self.client.redis.xrange(wk.events):
            if fields.get("type") == EventType.NODE_STATE and fields.get("state") in ENDED:
                ends.setdefault(fields["node"], []).append(fields["state"])
        assert ends == {n: [s.value] for n, s in states.items()}, ends

    def check_order(self, wf: str, d: Dag, states: dict[str, NodeState]) -> None:
        """No node started before each of its parents (a member's: its expander; a node
        after a runtime fan-out's: every member too) had ended; cancelled nodes never
        started; nodes that ran their task ran it once."""
        r = self.client.redis
        wk = keys.WorkflowKeys(self.namespace, wf)
        started = {k: float(v) for k, v in r.hgetall(wk.started).items()}
        ended = {k: float(v) for k, v in r.hgetall(wk.ended).items()}
        assert set(ended) == set(states)
        expanders = {n.id for n in d.nodes if n.expand is not None}
        members = {e: [m for m in states if m.startswith(f"{e}[")] for e in expanders}
        parents_of: dict[str, list[str]] = {}
        for n in d.nodes:
            ps = [p for p in n.after if not n.cleanup]
            parents_of[n.id] = ps + [m for p in ps if p in expanders for m in members[p]]
            for m in members.get(n.id, []):
                parents_of[m] = [n.id]
        finals = {n.id for n in d.nodes if n.cleanup}
        main = [n for n in states if n not in finals]
        for nid, ps in parents_of.items():
            if states[nid] is CANCEL:
                assert nid not in started, f"{nid} was cancelled after it started"
            if nid in started:
                for p in ps:
                    assert started[nid] >= ended[p], f"{nid} started before {p} ended"
        for f in (n for n in d.nodes if n.cleanup):  # finally: after the whole main part
            assert all(started[f.id] >= ended[m] for m in main), f.id
        runs = r.hgetall(recorded(self.namespace, wf, "runs"))
        assert all(v == "1" for v in runs.values()), runs
        assert set(runs) == {n for n, s in states.items() if s is OK
                             and n not in expanders and "fail" not in self._task(d, n)}

    @staticmethod
    def _task(d: Dag, nid: str) -> str:
        return d.node(nid.split("[")[0]).task


@pytest.fixture(scope="module")
def engines(redis_server, tmp_path_factory):
    """One worker with one process and one with four, each on its own namespace."""
    log_dir = tmp_path_factory.mktemp("workers")
    started: list[Engine] = []
    try:
        started.append(Engine(redis_server, log_dir, "cfprop1", processes=1))
        started.append(Engine(redis_server, log_dir, "cfprop4", processes=4))
        yield started
    finally:
        for e in started:
            e.close()


@pytest.mark.parametrize("failure", [False, True], ids=["no-failure", "one-failure"])
@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_random_run_time_dags_end_as_the_model_says_with_one_worker_or_four(engines, failure,
                                                                            data):
    drawing = data.draw(random_dags(failure), label="drawing")
    note(repr(drawing))  # hypothesis prints the dataclass whole: this is the short form
    d = drawing.dag()
    expected, outcome = expected_states(drawing)
    event(f"outcome {outcome.value}")
    for s in sorted(set(expected.values())):
        event(f"some node {s.value}")
    members = sum("[" in n for n in expected)
    event("members: " + ("none" if not members else "1-9" if members < 10 else "10 or more"))
    one, four = engines
    states1, final1 = one.run(d)
    assert set(states1.values()) <= ENDED
    assert states1 == expected, _diff(states1, expected)
    assert final1 is outcome
    states4, final4 = four.run(d)
    assert (states4, final4) == (states1, final1), _diff(states4, states1)


def _diff(got: dict[str, NodeState], want: dict[str, NodeState]) -> str:
    keys_ = sorted(set(got) | set(want))
    return json.dumps({k: [str(got.get(k)), str(want.get(k))] for k in keys_
                       if got.get(k) != want.get(k)})
