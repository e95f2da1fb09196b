"""notify.dc and the gate at the task level: when a datacentre link is made and what the
message says, that it is the same link on every run, and whom the gate then leaves out."""

from __future__ import annotations

import re

from cephflow.engine.context import NotYet
from cephflow.notify import dc_link
from cephflow.tasks.approval import approval
from cephflow.tasks.notify import notify_dc
from tests.tasks.support import fast, make_ctx

SECRET = "k" * 40
DISK = {"host": "ceph-osd-17", "osd": 41, "serial": "ZA1B2C3D", "slot": "bay 7",
        "model": "ST4000", "action": "Replace the disk.", "confirm_step": "disk-replaced"}


def _settings(smtp_server, **api):
    return fast(smtp={"host": smtp_server.host, "port": smtp_server.port,
                      "recipients": ["dc@lab"]}, api=api)


def _links(body: str) -> list[str]:
    return re.findall(r"https://cf\.example/dc/\S+", body)


def test_without_a_public_url_the_message_names_the_command(smtp_server):
    ctx = make_ctx(_settings(smtp_server, link_secret=SECRET))
    notify_dc(ctx, **DISK)
    body = smtp_server.wait_for(1)[0].message.get_content()
    assert f"When done, run: cephflow approve {ctx.workflow_id} disk-replaced" in body
    assert "/dc/" not in body
    assert ctx.fact(dc_link.shown_fact_key(ctx.node_id)) is None


def test_without_a_secret_no_link_is_made_and_the_step_says_why(smtp_server):
    ctx = make_ctx(_settings(smtp_server, public_url="https://cf.example"))
    notify_dc(ctx, **DISK)
    assert _links(smtp_server.wait_for(1)[0].message.get_content()) == []
    assert any("api.link_secret is not set" in line for _, _, line, _ in ctx.backend.progress)


def test_the_link_is_signed_for_this_step_and_the_same_on_every_run(smtp_server):
    ctx = make_ctx(_settings(smtp_server, public_url="https://cf.example/", link_secret=SECRET,
                             link_ttl=7200), node_id="tell-dc[osd.41]")
    notify_dc(ctx, **DISK)
    body = smtp_server.wait_for(1)[0].message.get_content()
    [link] = _links(body)
    assert "it works once, for 2 hours" in body
    assert f"the operator confirms with: cephflow approve {ctx.workflow_id} disk-replaced" in body
    token = link.rsplit("/", 1)[1]
    made = dc_link.verify(token, SECRET, workflow=ctx.workflow_id, now=ctx.now())
    assert (made.step, made.gate) == ("tell-dc[osd.41]", "disk-replaced")
    assert made.expires - ctx.now() <= 7200
    shown = ctx.fact(dc_link.shown_fact_key("tell-dc[osd.41]"))
    assert shown["link"] == made.link and shown["slot"] == "bay 7" and shown["model"] == "ST4000"
    assert ctx.fact(dc_link.reached_fact_key("disk-replaced", "email", "dc@lab")) is True

    notify_dc(ctx, **DISK)  # a redelivery sends nothing again and keeps the same link
    assert len(smtp_server.received) == 1
    assert ctx.fact(dc_link.shown_fact_key("tell-dc[osd.41]"))["link"] == made.link


def test_the_gate_mails_only_whom_the_dc_message_did_not_reach(smtp_server):
    settings = _settings(smtp_server, public_url="https://cf.example", link_secret=SECRET)
    dc = make_ctx(settings, node_id="tell-dc")
    notify_dc(dc, **DISK)
    gate = make_ctx(settings, node_id="disk-replaced", workflow_id=dc.workflow_id,
                    backend=dc.backend)
    for _ in range(2):
        try:
            approval(gate, to=["dc@lab", "ops@lab"])
        except NotYet:
            pass
    mails = smtp_server.wait_for(2)
    assert [m.rcpt_tos for m in mails] == [["dc@lab"], ["ops@lab"]]
    assert len(smtp_server.received) == 2
