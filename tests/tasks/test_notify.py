"""notify.dc / notify.send against a real SMTP server (aiosmtpd) and a real HTTP server."""

from __future__ import annotations

import pytest

from cephflow.errors import NotifyError, StepFailed
from cephflow.tasks.notify import notify_dc, notify_send
from tests.fixtures.services import free_port
from tests.tasks.support import fast, make_ctx

DEVICE = {"model": "ST8000NM0055", "serial": "ZA1B2C3D", "slot": "enclosure 1 bay 7"}


def _email_settings(server, **extra):
    return fast(smtp={"host": server.host, "port": server.port, "sender": "cephflow@lab",
                      "recipients": ["dc-team@lab"], **extra})


def _dc(ctx, **overrides):
    ctx.set_fact("device:osd.41", DEVICE)
    args = dict(host="ceph-osd-17", osd=41, device="/dev/sdk", facts_from=["device:osd.41"],
                action="Pull the failed disk and insert the replacement.",
                confirm_step="disk-replaced")
    args.update(overrides)
    return notify_dc(ctx, **args)


def test_technicians_get_an_email_with_every_fact(smtp_server):
    ctx = make_ctx(_email_settings(smtp_server), node_id="tell-dc")
    result = _dc(ctx)
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["dc-team@lab"] and mail.mail_from == "cephflow@lab"
    assert "ceph-osd-17" in mail.message["Subject"] and "osd.41" in mail.message["Subject"]
    body = mail.message.get_content()
    for fact in ("ceph-osd-17", "osd.41", "/dev/sdk", "ST8000NM0055", "ZA1B2C3D",
                 "enclosure 1 bay 7", "Pull the failed disk and insert the replacement.",
                 f"cephflow approve {ctx.workflow_id} disk-replaced"):
        assert fact in body, fact
    assert result["channels"]["email"]["status"] == "delivered"
    assert ctx.memo["notify:email"]["status"] == "delivered"
    assert ctx.memo["notify:email"]["message_id"] == mail.message["Message-ID"]


def test_task_run_twice_or_redelivered_sends_once(smtp_server, http_server):
    settings = fast(smtp={"host": smtp_server.host, "port": smtp_server.port,
                          "recipients": ["dc@lab"]},
                    webhook={"url": http_server.url + "/hook"})
    ctx = make_ctx(settings, node_id="tell-dc")
    _dc(ctx)
    _dc(ctx)  # a retry of the same step
    again = make_ctx(settings, node_id="tell-dc", workflow_id=ctx.workflow_id,
                     backend=ctx.backend, attempt=2)
    _dc(again)  # a redelivered message
    smtp_server.wait_for(1)
    http_server.wait_for(1)
    assert len(smtp_server.received) == 1 and len(http_server.received) == 1
    # another step of the same workflow is another message
    _dc(make_ctx(settings, node_id="tell-dc-2", workflow_id=ctx.workflow_id, backend=ctx.backend))
    assert len(smtp_server.wait_for(2)) == 2


def test_webhook_json_carries_the_facts_and_the_token(http_server):
    token = "hook-token-Rr5"
    ctx = make_ctx(fast(webhook={"url": http_server.url + "/hooks/ops", "token": token}))
    _dc(ctx)
    [req] = http_server.wait_for(1)
    assert req.path == "/hooks/ops" and req.headers["Authorization"] == f"Bearer {token}"
    assert req.headers["Idempotency-Key"] == f"{ctx.workflow_id}/{ctx.node_id}"
    body = req.json()
    assert body["facts"]["serial"] == "ZA1B2C3D" and body["facts"]["osd"] == 41
    assert "enclosure 1 bay 7" in body["text"]


def test_webhook_slack_style(http_server):
    ctx = make_ctx(fast(webhook={"url": http_server.url + "/services/T0/B0/XyZ",
                                 "style": "slack", "channel": "#dc", "username": "cephflow"}))
    _dc(ctx)
    body = http_server.wait_for(1)[0].json()
    assert set(body) == {"text", "channel", "username"}
    assert body["channel"] == "#dc" and body["text"].startswith("*[cephflow] ceph-osd-17 osd.41")
    assert "ZA1B2C3D" in body["text"]


def test_webhook_failing_twice_then_accepting_gets_it_exactly_once(http_server):
    http_server.fail_next(2, status=503)
    ctx = make_ctx(fast(webhook={"url": http_server.url + "/hook"}))
    result = _dc(ctx)
    assert len(http_server.refused) == 2 and len(http_server.received) == 1
    assert result["channels"]["webhook"]["attempts"] == 3


def test_smtp_failing_twice_then_accepting_gets_it_exactly_once(smtp_server):
    smtp_server.fail_next(2)
    ctx = make_ctx(_email_settings(smtp_server))
    result = _dc(ctx)
    assert smtp_server.refused == 2 and len(smtp_server.wait_for(1)) == 1
    assert result["channels"]["email"]["attempts"] == 3


def test_failure_after_retries_is_retried_by_the_step_without_resending_the_rest(
    smtp_server, http_server
):
    http_server.fail_next(3, status=500)
    settings = fast(smtp={"host": smtp_server.host, "port": smtp_server.port,
                          "recipients": ["dc@lab"]},
                    webhook={"url": http_server.url + "/hook"})
    ctx = make_ctx(settings)
    with pytest.raises(NotifyError, match="after 3 tries"):
        _dc(ctx)
    assert ctx.memo["notify:webhook"]["status"] == "failed"
    assert ctx.memo["notify:email"]["status"] == "delivered"
    _dc(ctx)  # the step's own retry
    assert len(http_server.received) == 1 and len(smtp_server.received) == 1
    assert ctx.memo["notify:webhook"]["status"] == "delivered"


def test_lost_answer_is_in_doubt_and_never_resent(http_server):
    http_server.stall_next(1)
    ctx = make_ctx(fast(webhook={"url": http_server.url + "/hook", "timeout": 0.5}))
    result = _dc(ctx)
    assert result["channels"]["webhook"]["status"] == "in-doubt"
    _dc(ctx)
    assert len(http_server.received) == 1


def test_claimed_delivery_without_outcome_is_not_repeated(http_server):
    ctx = make_ctx(fast(webhook={"url": http_server.url + "/hook"}))
    assert ctx.once("notify:webhook#0")  # an earlier run claimed, then its worker died
    result = _dc(ctx)
    assert result["channels"]["webhook"]["status"] == "in-doubt"
    assert http_server.received == []


def test_refused_webhook_fails_the_step_for_good(http_server):
    http_server.fail_next(1, status=404)
    ctx = make_ctx(fast(webhook={"url": http_server.url + "/gone"}))
    with pytest.raises(StepFailed, match="refused the message: HTTP 404"):
        _dc(ctx)
    assert len(http_server.refused) == 1


def test_unreachable_smtp_fails_after_retries():
    ctx = make_ctx(fast(smtp={"host": "127.0.0.1", "port": free_port(), "recipients": ["a@b"]}))
    with pytest.raises(NotifyError, match=r"email via 127\.0\.0\.1:\d+ failed after 3 tries"):
        _dc(ctx)


def test_starttls_and_auth(smtp_tls_server):
    ctx = make_ctx(_email_settings(smtp_tls_server, starttls=True, ca_file=smtp_tls_server.ca_file,
                                   username="tech", password="s3cret-smtp-pw"))
    _dc(ctx)
    [mail] = smtp_tls_server.wait_for(1)
    assert mail.authenticated_as == "tech"


def test_wrong_smtp_password_is_refused_and_never_shown(smtp_tls_server):
    wrong = "wrong-pw-Kk9"
    ctx = make_ctx(_email_settings(smtp_tls_server, starttls=True, ca_file=smtp_tls_server.ca_file,
                                   username="tech", password=wrong))
    with pytest.raises(StepFailed, match="535") as caught:
        _dc(ctx)
    assert wrong not in str(caught.value) and wrong not in str(ctx.backend.progress)
    assert wrong not in str(ctx.memo) and smtp_tls_server.received == []


def test_password_is_never_sent_without_tls(smtp_server):
    ctx = make_ctx(_email_settings(smtp_server, username="tech", password="pw"))
    with pytest.raises(StepFailed, match="without TLS"):
        _dc(ctx)
    assert smtp_server.received == []


def test_untrusted_certificate_is_refused(smtp_tls_server):
    ctx = make_ctx(_email_settings(smtp_tls_server, starttls=True, username="tech",
                                   password="s3cret-smtp-pw"))
    with pytest.raises(StepFailed, match="CERTIFICATE_VERIFY_FAILED"):
        _dc(ctx)


def test_runbook_template_is_rendered_in_the_sandbox(smtp_server):
    ctx = make_ctx(_email_settings(smtp_server))
    _dc(ctx, template="Swap {{ serial }} in {{ slot }} on {{ host }}.", subject="Disk {{ serial }}")
    [mail] = smtp_server.wait_for(1)
    assert mail.message["Subject"] == "Disk ZA1B2C3D"
    assert mail.message.get_content().strip() == "Swap ZA1B2C3D in enclosure 1 bay 7 on ceph-osd-17."

    with pytest.raises(StepFailed, match="'rack' is undefined"):
        _dc(make_ctx(ctx.settings), template="{{ rack }}")
    with pytest.raises(StepFailed, match="SecurityError"):
        _dc(make_ctx(ctx.settings), template="{{ ''.__class__.__mro__[1].__subclasses__() }}")
    assert len(smtp_server.received) == 1


def test_notify_send_without_any_channel_fails_clearly():
    with pytest.raises(StepFailed, match="no channel configured"):
        notify_send(make_ctx(fast()), subject="s", text="t")
