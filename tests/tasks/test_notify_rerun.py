"""Audit of "delivery outcome recorded on the step": a retried or redelivered run of a step whose
message already went out sends nothing AND still reports it as delivered (not "in doubt").
"""

from __future__ import annotations

from cephflow.tasks.notify import notify_dc
from tests.tasks.support import fast, make_ctx


def _dc(ctx):
    ctx.set_fact("device:osd.7", {"model": "M", "serial": "S-7", "slot": "bay 7"})
    return notify_dc(ctx, host="h1", osd=7, device="/dev/sdq", facts_from=["device:osd.7"],
                     action="Swap the disk.", confirm_step="disk-replaced")


def test_a_rerun_after_delivery_reports_delivered_and_sends_nothing(smtp_server, http_server):
    settings = fast(smtp={"host": smtp_server.host, "port": smtp_server.port,
                          "recipients": ["dc@lab"]}, webhook={"url": http_server.url + "/h"})
    ctx = make_ctx(settings, node_id="tell-dc")
    first = _dc(ctx)
    assert {c: r["status"] for c, r in first["channels"].items()} == {
        "email": "delivered", "webhook": "delivered"}
    again = make_ctx(settings, node_id="tell-dc", workflow_id=ctx.workflow_id,
                     backend=ctx.backend, attempt=2)
    second = _dc(again)  # a redelivered message of the same step
    assert {c: r["status"] for c, r in second["channels"].items()} == {
        "email": "delivered", "webhook": "delivered"}
    assert len(smtp_server.wait_for(1)) == 1 and len(http_server.wait_for(1)) == 1
