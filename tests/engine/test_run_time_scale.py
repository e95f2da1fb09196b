"""A runtime fan-out at the issue's bound: 100,000 members written by one script.

No worker: the test takes the transitions a worker would (claim, complete, decide, expand)
on a namespace of its own, so it measures the script, not the pool.
"""

from __future__ import annotations

import json

import pytest

from cephflow.engine import keys, late
from cephflow.engine.scripts import Transitions
from cephflow.runbook.dag import FanOut, Late, StepRef
from tests.engine.support import dag, node
from tests.fixtures.workflow_client import LONE_NAMESPACE as NS

pytestmark = [pytest.mark.services, pytest.mark.slow]
WIDTH = late.MAX_MEMBERS


def test_a_runtime_fan_out_of_100000_members_is_written_once_by_one_script(lone_client):
    client = lone_client
    d = dag(
        node("discover", task="core.echo", args={"value": {}}),
        node("drain", task="core.noop", after=["discover"],
             expand=FanOut(items="{{ range(steps.discover.output.count) | list }}", var="n",
                           label="osd.{{ n }}", concurrency=50),
             late=Late(reads={"discover": StepRef(nodes=["discover"])})),
        node("after", task="core.noop", after=["drain"]),
        groups={"drain": 50},
    )
    wf = client.submit(d, user="tester")
    wk = keys.WorkflowKeys(NS, wf)
    tr = Transitions(client.redis, NS, 60)
    token = client.redis.hget(wk.token, "discover")
    assert tr.claim(wf, "discover", token).status == "run"
    done = tr.complete(wf, "discover", token, "succeeded", "", json.dumps({"count": WIDTH}))
    [(expander, tok)] = done.sends
    claim = tr.claim(wf, expander, tok)
    assert claim.status == "run", claim
    decision = late.decide(client.redis, wk, json.loads(claim.detail[2]))
    assert decision.members is not None and len(decision.members) == WIDTH
    out = tr.expand(wf, "drain", tok, decision.members, "drain", "expanded")
    assert out.status == "ok", {  # what made it stale, if it is
        "token": (client.redis.hget(wk.token, expander), tok),
        "state": client.redis.hget(wk.state, expander),
        "members": client.redis.hexists(wk.members, expander), "sent": (expander, tok)}
    assert len(out.sends) == 50  # the group's limit, the rest held
    assert tr.expand(wf, "drain", tok, decision.members, "drain", "again").status == "stale"
    members = json.loads(client.redis.hget(wk.members, "drain"))
    assert len(members) == len(set(members)) == WIDTH and members[7] == "drain[osd.7]"
    assert client.redis.hlen(wk.state) == WIDTH + 3
    assert client.redis.llen(wk.order) == WIDTH + 3
    assert client.redis.llen(wk.gready("drain")) == WIDTH - 50
    fanin = client.redis.hget(wk.fanin, "drain")
    assert int(client.redis.hget(wk.deps, fanin)) == WIDTH
    assert int(client.redis.hget(wk.meta, "open_main")) == WIDTH + 1
    assert client.redis.hget(wk.state, "drain") == "succeeded"
