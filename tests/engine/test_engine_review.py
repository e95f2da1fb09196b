"""Review tests: transitions raced against each other, driven through the Lua wrappers.

No worker runs here: each test plays the workers' part (claim, complete) by calling the
scripts itself, in the exact interleaving that matters, so every race is deterministic.
"""

from __future__ import annotations

import pytest

from cephflow.engine import keys
from cephflow.engine.state import WorkflowState
from tests.engine.conftest import dag, node
from tests.fixtures.redis_server import NAMESPACE

pytestmark = pytest.mark.services


def token(client, wf: str, node_id: str) -> str:
    return client.redis.hget(keys.WorkflowKeys(NAMESPACE, wf).token, node_id)


def states(client, wf: str) -> dict[str, str]:
    return client.redis.hgetall(keys.WorkflowKeys(NAMESPACE, wf).state)


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

