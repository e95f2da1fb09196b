"""A runtime fan-out and run-time skips as a follower and the live tree see them: the
members appear when the fan-out expands, the skipped step says why."""

from __future__ import annotations

import pytest

from cephflow.cli.views.event_line import event_line
from cephflow.cli.views.live import LiveView
from cephflow.engine.state import EventType
from cephflow.operations.follow import Follower
from cephflow.runbook.dag import Late
from tests.cli.golden import render
from tests.engine.support import dag, node
from tests.engine.test_run_time import echo, fan, reads

pytestmark = pytest.mark.services


def test_a_follower_sees_the_members_appear_and_the_skip_reasons(client, celery_worker):
    d = dag(
        node("discover", task="test.wait_fact", args={"key": "found"}),
        fan("drain", "{{ steps.discover.output.value.osds }}", ["discover"],
            value={"osd": "{{ osd }}"}, label="osd.{{ osd }}",
            reads=reads(discover=["discover"])),
        echo("refill", {}, after=["drain"], late=Late(
            condition="{{ steps.drain.outputs | length > 5 }}",
            condition_text="steps.drain.outputs | length > 5",
            reads=reads(drain=(["drain"], True)))),
    )
    wf = client.submit(d, user="tester")
    follower = Follower(client, wf, batch=1)  # an event at a time: none may be skipped
    assert [n for n in follower.snapshot.nodes if n.startswith("drain")] == ["drain"]
    client.set_fact(wf, "found", {"osds": [1, 2]})
    seen = []
    while not follower.done:
        follower.poll(500, seen.append)
    snap = follower.snapshot
    ended = [e.node for e in seen if e.type is EventType.NODE_STATE and e.state in (
        "succeeded", "skipped")]  # every event reached the follower's reader, once
    assert sorted(ended) == sorted(snap.nodes)
    lines = [str(event_line(e, snap)) for e in seen]
    assert any("drain  succeeded" in line and "expanded into 2 members" in line
               for line in lines), lines
    assert any("refill  skipped" in line and "skipped: if steps.drain.outputs" in line
               for line in lines), lines
    assert list(snap.nodes) == ["discover", "drain", "drain[osd.1]", "drain[osd.2]", "refill"]
    assert snap.model_dump(exclude={"last_event_id"}) == client.snapshot(wf).model_dump(
        exclude={"last_event_id"})
    text = render(LiveView(snap, now=snap.ended_at or 0, height=20), width=100)
    assert "drain" in text and "2/2" in text
    assert "refill" in text and "skipped: if steps.drain.outputs | length > 5 was false" in text
    assert "expanded into" not in text  # the group's line stands for the expander


def test_status_step_shows_the_output_a_step_keeps(client, celery_worker):
    from cephflow.cli.views.step_detail import StepDetail
    from cephflow.operations import workflows

    d = dag(echo("facts", {"device": "/dev/sdc", "slot": 4}), echo("next", None, after=["facts"]))
    wf = client.submit(d, user="tester")
    client.wait(wf, timeout=30)
    snap, node_id = workflows.step(client, wf, "facts")
    assert node_id == "facts" and snap.nodes["facts"].output == {"device": "/dev/sdc", "slot": 4}
    assert snap.nodes["next"].output is None
    text = render(StepDetail(snap, "facts", now=0), width=100)
    assert 'output:      {"device": "/dev/sdc", "slot": 4}' in text
    _, other = workflows.step(client, wf, "next")
    assert "output:" not in render(StepDetail(snap, other, now=0), width=100)
