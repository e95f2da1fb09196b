"""Review tests: transitions raced against each other, driven through the Lua wrappers.

No worker runs here: each test plays the workers' part (claim, complete) by calling the
scripts itself, in the exact interleaving that matters, so every race is deterministic.
"""

from __future__ import annotations

import time

import pytest

from cephflow.engine import keys
from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import WorkflowState
from cephflow.settings import Settings
from tests.engine.support import dag, node
from tests.fixtures.celery_worker import LEASE_SECONDS
from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import wait_until

pytestmark = pytest.mark.services
QUIET = f"{NAMESPACE}-review"
"""A namespace no test worker consumes (its queue is named after it): the test is the worker."""


@pytest.fixture
def client(redis_url) -> WorkflowClient:
    settings = Settings(redis_url=redis_url, namespace=QUIET, lease_seconds=LEASE_SECONDS)
    c = WorkflowClient(settings)
    yield c
    names = list(c.redis.scan_iter(match=f"{QUIET}*", count=5000))
    if names:
        c.redis.delete(*names)
    c.close()


def token(client, wf: str, node_id: str) -> str:
    return client.redis.hget(keys.WorkflowKeys(client.ns, wf).token, node_id)


def states(client, wf: str) -> dict[str, str]:
    return client.redis.hgetall(keys.WorkflowKeys(client.ns, wf).state)


def run(client, wf: str, node_id: str, outcome: str = "succeeded") -> list[tuple[str, str]]:
    """Play one worker: claim ``node_id`` with its current token, then complete it."""
    tr = client.transitions
    tok = token(client, wf, node_id)
    assert tr.claim(wf, node_id, tok).status == "run"
    done = tr.complete(wf, node_id, tok, outcome, "boom" if outcome == "failed" else "")
    assert done.status == "ok"
    return done.sends


def test_cancel_during_finally_keeps_held_finally_members(client):
    # finally fan-out f[0..2] limited to one at a time; cancel arrives while f[0] runs and
    # f[1], f[2] are held back by the limit: they still run, then the workflow ends
    d = dag(node("a"),
            *[node(f"f[{i}]", step="f", cleanup=True, group="f") for i in range(3)],
            groups={"f": 1})
    wf = client.submit(d, user="tester")
    sends = run(client, wf, "a")
    assert [n for n, _ in sends] == ["f[0]"]
    client.cancel(wf, user="tester")
    assert client.state(wf) is WorkflowState.CANCELLING
    assert [n for n, _ in run(client, wf, "f[0]")] == ["f[1]"]
    assert [n for n, _ in run(client, wf, "f[1]")] == ["f[2]"]
    assert run(client, wf, "f[2]") == []
    assert client.state(wf) is WorkflowState.CANCELLED
    assert states(client, wf) == {"a": "succeeded", "f[0]": "succeeded", "f[1]": "succeeded",
                                  "f[2]": "succeeded"}


def _claim(client, wf: str, node_id: str) -> None:
    assert client.transitions.claim(wf, node_id, token(client, wf, node_id)).status == "run"


@pytest.mark.parametrize("stop", ["fail", "cancel"])
def test_a_finally_gate_can_be_decided_after_a_failure_or_cancel(client, stop):
    # the finally part runs after a failure or a cancel: its approval gate must be decidable
    # then, or it waits out its timeout (or forever) and the workflow never ends
    d = dag(node("a"),
            node("g", task="core.approval", cleanup=True,
                 args={"approvers": [], "notify": False, "downtimes": []}))
    wf = client.submit(d, user="tester")
    if stop == "fail":
        run(client, wf, "a", "failed")
        assert client.state(wf) is WorkflowState.FAILING
    else:
        _claim(client, wf, "a")
        client.cancel(wf, user="tester")
        tok = token(client, wf, "a")
        assert client.transitions.complete(wf, "a", tok, "succeeded").status == "ok"
        assert client.state(wf) is WorkflowState.CANCELLING
    _claim(client, wf, "g")
    assert [g.node for g in client.approve(wf, "g", user="tester")] == ["g"]
    assert client.get_fact(wf, "approval:g")["decision"] == "approved"


def test_no_decision_on_a_main_gate_once_the_workflow_stops_or_ends(client):
    from cephflow.errors import InvalidTransition

    d = dag(node("a"), node("g", task="core.approval", after=["a"],
                            args={"approvers": [], "notify": False, "downtimes": []}),
            node("b"))
    wf = client.submit(d, user="tester")
    _claim(client, wf, "b")
    run(client, wf, "a", "failed")
    assert client.state(wf) is WorkflowState.FAILING
    with pytest.raises(InvalidTransition):
        client.approve(wf, "g", user="tester")
    tok = token(client, wf, "b")
    assert client.transitions.complete(wf, "b", tok, "succeeded").status == "ok"
    assert client.state(wf) is WorkflowState.FAILED
    with pytest.raises(InvalidTransition):
        client.approve(wf, "g", user="tester")
    assert client.get_fact(wf, "approval:g") is None


def test_start_run_again_after_a_lost_reply_queues_nothing_twice(client):
    # connection.call retries a script whose reply was lost: a second start of a started
    # workflow must not queue its roots again (a limited group would count them twice and
    # run a member twice) but only repeat the messages of the roots still queued
    d = dag(node("r[0]", step="r", group="r"), node("r[1]", step="r", group="r"),
            node("end", after=["r[0]", "r[1]"]), groups={"r": 1})
    wf = client.submit(d, user="tester")
    first = token(client, wf, "r[0]")
    again = client.transitions.start(wf)
    assert again.status == "ok"
    assert again.sends == [("r[0]", first)]
    assert [n for n, _ in run(client, wf, "r[0]")] == ["r[1]"]
    assert [n for n, _ in run(client, wf, "r[1]")] == ["end"]
    assert run(client, wf, "end") == []
    assert client.state(wf) is WorkflowState.SUCCEEDED
    assert set(states(client, wf).values()) == {"succeeded"}
    queued = [e.node for e in client.events(wf, "0-0", count=1000) if e.state == "queued"]
    assert sorted(queued) == ["end", "r[0]", "r[1]"]


def test_a_follower_folding_events_across_a_resume_agrees_with_a_fresh_snapshot(client):
    # a follower that attached before the resume folds the reset into the node it shows:
    # the previous run's start, try number and progress line must not survive it
    wf = client.submit(dag(node("a")), user="tester")
    _claim(client, wf, "a")
    client.transitions.progress(wf, "a", "half way", {})
    tok = token(client, wf, "a")
    assert client.transitions.complete(wf, "a", tok, "failed", "boom").status == "ok"
    assert client.state(wf) is WorkflowState.FAILED
    follower = client.snapshot(wf)
    assert follower.nodes["a"].started_at is not None
    client.resume(wf, user="tester")
    for event in client.events(wf, follower.last_event_id, count=1000):
        follower.apply(event)
    fresh = client.snapshot(wf)
    assert fresh.nodes["a"].state.value == "queued"
    for field in ("state", "started_at", "ended_at", "attempt", "detail", "error"):
        assert getattr(follower.nodes["a"], field) == getattr(fresh.nodes["a"], field), field


def test_a_late_heartbeat_never_shortens_a_lease(client, redis_url):
    # the beat read the run as current just before it ended and rescheduled its node with a
    # long countdown (lease = countdown + lease): renewing now must not cut that lease short,
    # or the reconciler re-sends the node and it runs before its countdown
    from cephflow.engine.runner import Engine

    settings = Settings(redis_url=redis_url, namespace=QUIET, lease_seconds=0.6)
    engine = Engine(client.app, settings, redis_url)
    beats: list[bool] = []
    beat = engine.transitions.beat

    def spy(*args, **kwargs):
        result = beat(*args, **kwargs)
        beats.append(result)
        return result

    engine.transitions.beat = spy
    member = keys.lease_member("wf1", "n")
    later = time.time() + 600
    client.redis.zadd(keys.leases(QUIET), {member: later})
    engine.current = ("wf1", "n", time.monotonic() - 60)
    engine.heartbeat()
    try:
        wait_until(lambda: beats, timeout=10, what="a heartbeat")
    finally:
        engine.current = None
    assert client.redis.zscore(keys.leases(QUIET), member) == later


def test_resume_runs_a_redo_node_before_a_re_run_node_that_comes_after_it_indirectly(client):
    # set (redo_on_resume) -> drain -> restart: restart failed, the finally step undid set.
    # resume runs set again; restart comes after set (through drain, which is kept) and
    # must wait for it, not start alongside it
    d = dag(node("set", redo_on_resume=True), node("drain", after=["set"]),
            node("restart", after=["drain"]), node("clear", cleanup=True))
    wf = client.submit(d, user="tester")
    run(client, wf, "set")
    run(client, wf, "drain")
    run(client, wf, "restart", "failed")
    run(client, wf, "clear")
    assert client.state(wf) is WorkflowState.FAILED
    resumed = client.transitions.resume(wf, "tester")
    assert [n for n, _ in resumed.sends] == ["set"]
    assert [n for n, _ in run(client, wf, "set")] == ["restart"]
    run(client, wf, "restart")
    run(client, wf, "clear")
    assert client.state(wf) is WorkflowState.SUCCEEDED
    assert states(client, wf)["drain"] == "succeeded"


def test_resume_relays_a_redo_node_through_kept_nodes_and_a_join(client):
    # set -> d[0..3] -> (a join) -> r[0..3]; r[0] failed. The re-run of r[0] waits for set
    # through the kept d[*] and the join; the kept r[1..3] do not run again
    d = dag(node("set", redo_on_resume=True),
            *[node(f"d[{i}]", step="d", after=["set"]) for i in range(4)],
            *[node(f"r[{i}]", step="r", after=[f"d[{k}]" for k in range(4)])
              for i in range(4)],
            node("clear", cleanup=True))
    wf = client.submit(d, user="tester")
    run(client, wf, "set")
    for i in range(4):
        run(client, wf, f"d[{i}]")
    for i in range(4):
        _claim(client, wf, f"r[{i}]")
    for i in range(4):
        tok = token(client, wf, f"r[{i}]")
        outcome = "failed" if i == 0 else "succeeded"
        assert client.transitions.complete(wf, f"r[{i}]", tok, outcome, "boom").status == "ok"
    run(client, wf, "clear")
    assert client.state(wf) is WorkflowState.FAILED
    assert [n for n, _ in client.transitions.resume(wf, "tester").sends] == ["set"]
    assert [n for n, _ in run(client, wf, "set")] == ["r[0]"]
    run(client, wf, "r[0]")
    run(client, wf, "clear")
    assert client.state(wf) is WorkflowState.SUCCEEDED
    assert set(states(client, wf).values()) == {"succeeded"}


def test_resume_starts_the_reconciler_backoff_of_a_re_run_node_afresh(client):
    # a node re-sent many times while no worker ran, then cancelled: after resume its first
    # re-send must wait one doubled lease again, not the backoff of its old message
    wf = client.submit(dag(node("a")), user="tester")
    leases, member = keys.leases(QUIET), keys.lease_member(wf, "a")
    for _ in range(4):
        client.redis.zadd(leases, {member: 0})
        assert client.transitions.relet(wf, "a").status == "send"
    client.cancel(wf, user="tester")
    assert client.state(wf) is WorkflowState.CANCELLED
    client.resume(wf, user="tester")
    client.redis.zadd(leases, {member: 0})
    before = time.time()
    assert client.transitions.relet(wf, "a").status == "send"
    assert client.redis.zscore(leases, member) - before <= 2 * LEASE_SECONDS + 1
