"""core.approval at the task level: announce once, decide, time out, who may decide."""

from __future__ import annotations

import grp
import os
import pwd
import time

import pytest

from cephflow.engine.context import NotYet
from cephflow.errors import StepFailed
from cephflow.monitoring.times import epoch
from cephflow.tasks.approval import approval, approval_fact_key, may_approve
from cephflow.tasks.downtime import downtime_clear, downtime_set, fact_key
from tests.tasks.support import fast, make_ctx

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def _poll(ctx, **args):
    """One check of the gate; returns its result, or None when it is still waiting."""
    try:
        return approval(ctx, **args)
    except NotYet as waiting:
        assert waiting.countdown is not None and waiting.countdown > 0
        return None


def _decide(ctx, decision, by=ME, reason=""):
    ctx.set_fact(approval_fact_key(ctx.node_id),
                 {"decision": decision, "by": by, "at": time.time(), "reason": reason})


def test_gate_announces_once_with_the_command_then_waits(smtp_server, http_server):
    settings = fast(smtp={"host": smtp_server.host, "port": smtp_server.port,
                          "recipients": ["oncall@lab"]},
                    webhook={"url": http_server.url + "/hook", "style": "slack"})
    ctx = make_ctx(settings, node_id="confirm[osd.41]")
    for _ in range(4):
        assert _poll(ctx, message="Has the disk been replaced?", approvers=[ME]) is None
    command = f"cephflow approve {ctx.workflow_id} 'confirm[osd.41]'"
    [mail] = smtp_server.wait_for(1)
    body = mail.message.get_content()
    assert "Has the disk been replaced?" in body and command in body and ME in body
    assert command in http_server.wait_for(1)[0].json()["text"]
    assert len(smtp_server.received) == 1 and len(http_server.received) == 1
    assert any(command in line for _, _, line, _ in ctx.backend.progress)

    _decide(ctx, "approved")
    assert _poll(ctx, approvers=[ME])["by"] == ME


def test_announcement_failing_is_retried_on_later_polls_but_never_doubled(http_server):
    http_server.fail_next(3, status=503)  # all three tries of the first poll
    ctx = make_ctx(fast(webhook={"url": http_server.url + "/hook"}))
    assert _poll(ctx) is None
    assert ctx.memo["announce:webhook"]["status"] == "failed" and http_server.received == []
    assert _poll(ctx) is None and _poll(ctx) is None
    assert len(http_server.received) == 1


def test_rejection_fails_the_step_with_the_reason():
    ctx = make_ctx(fast())
    assert _poll(ctx, notify=False) is None
    _decide(ctx, "rejected", reason="wrong disk")
    with pytest.raises(StepFailed, match=f"rejected by {ME}: wrong disk"):
        approval(ctx, notify=False)


def test_gate_times_out_when_its_deadline_passes():
    ctx = make_ctx(fast(), deadline=time.time() + 0.3)
    try:
        approval(ctx, notify=False)
    except NotYet as waiting:
        assert waiting.countdown <= 0.3  # never sleeps past its own deadline
    ctx.deadline = time.time() - 0.01
    with pytest.raises(StepFailed, match="no approval within the step's timeout"):
        approval(ctx, notify=False)


def test_decision_by_someone_who_may_not_approve_is_ignored():
    ctx = make_ctx(fast())
    _decide(ctx, "approved", by="mallory-not-a-user")
    assert _poll(ctx, approvers=[ME], notify=False) is None
    _decide(ctx, "approved", by=ME)
    assert _poll(ctx, approvers=[ME], notify=False)["decision"] == "approved"


def test_who_may_approve():
    assert may_approve("anyone", [])
    assert may_approve(ME, [ME])
    assert may_approve(ME, [f"@{MY_GROUP}"])
    assert not may_approve(ME, ["someone-else"])
    assert not may_approve("no-such-user-x", [f"@{MY_GROUP}"])
    assert not may_approve(ME, ["@no-such-group-x"])
    assert may_approve("dc:Tom Tech", [ME, "dc:*"])  # a datacentre link's technician
    assert not may_approve("dc:Tom Tech", [ME, "@dc"])
    assert not may_approve("dcx", ["dc:*"]) and not may_approve("x:dc:y", ["dc:*"])


def test_waiting_gate_keeps_the_downtime_from_lapsing(alertmanager):
    ctx = make_ctx(fast(alertmanager={"urls": [alertmanager.url], "extend_margin": 900}))
    downtime_set(ctx, matchers=['instance="ceph-osd-17"'], duration="5m")
    [handle] = ctx.fact(fact_key("default"))["handles"]
    assert _poll(ctx, notify=False) is None
    assert epoch(alertmanager.silence(handle["id"])["endsAt"]) >= time.time() + 1800 - 10
    downtime_clear(ctx)
