"""Secrets (SMTP password, webhook URL and token, Alertmanager password, HTTP token) never
appear in settings output, errors, progress, step memos, facts, results or logs."""

from __future__ import annotations

import logging
import traceback

import pytest

from cephflow.errors import CephflowError
from cephflow.tasks.approval import approval
from cephflow.tasks.downtime import downtime_clear, downtime_set
from cephflow.tasks.notify import notify_dc
from tests.fixtures.services import free_port
from tests.fixtures.smtp_server import start_smtp
from tests.tasks.support import fast, make_ctx

SMTP_PW = "smtp-Secret-4411"
HOOK_PATH = "/hooks/Tkn-9f8e7d6c"
HOOK_TOKEN = "hook-Bearer-5522"
AM_PW = "am-Secret-6633"
HTTP_TOKEN = "http-Bearer-7744"
SECRETS = [SMTP_PW, HOOK_PATH.rsplit("/", 1)[1], HOOK_TOKEN, AM_PW, HTTP_TOKEN]


def _settings(smtp, hook_base, am_url, http_base):
    return fast(
        smtp={"host": smtp.host, "port": smtp.port, "starttls": True, "ca_file": smtp.ca_file,
              "username": "tech", "password": SMTP_PW, "recipients": ["dc@lab"]},
        webhook={"url": hook_base + HOOK_PATH, "token": HOOK_TOKEN},
        alertmanager={"urls": [am_url], "username": "cephflow", "password": AM_PW},
        http_downtime={"set_url": http_base + "/dt", "clear_url": http_base + "/dt/{{ id }}",
                       "token": HTTP_TOKEN},
    )


def _assert_clean(*texts):
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"secret {secret!r} leaked into: {text[:300]!r}"


@pytest.fixture
def smtp_with_secret(tmp_path):
    server = start_smtp(tmp_path, tls=True, user=("tech", SMTP_PW))
    yield server
    server.stop()


def test_settings_never_show_their_secrets(smtp_with_secret, http_server):
    settings = _settings(smtp_with_secret, http_server.url, http_server.url, http_server.url)
    _assert_clean(repr(settings), str(settings), settings.model_dump_json(),
                  str(settings.model_dump(mode="json")))


def test_no_secret_in_errors_progress_memos_facts_or_logs(
    smtp_with_secret, http_server, alertmanager, caplog
):
    caplog.set_level(logging.DEBUG)
    http_server.respond("POST", {"id": "dt-1"})
    shown: list[str] = []

    # everything works: email over STARTTLS with auth, webhook, silences, HTTP downtime
    ok = make_ctx(_settings(smtp_with_secret, http_server.url, alertmanager.url, http_server.url))
    sent = notify_dc(ok, host="h1", action="swap", osd=3)
    assert [r["status"] for r in sent["channels"].values()] == ["delivered", "delivered"]
    shown.append(repr(sent))
    shown.append(repr(downtime_set(ok, matchers=['instance="h1"'], backends=["alertmanager"])))
    shown.append(repr(downtime_clear(ok)))
    assert smtp_with_secret.received and http_server.received
    try:
        approval(make_ctx(ok.settings, backend=ok.backend, workflow_id=ok.workflow_id,
                          node_id="gate"))
    except Exception as exc:  # NotYet
        shown.append(repr(exc))

    # everything fails: refused webhook, unreachable servers
    dead = f"http://127.0.0.1:{free_port()}"
    http_server.fail_next(50, status=404)
    bad = make_ctx(_settings(smtp_with_secret, dead, dead, http_server.url))
    for call in (
        lambda: notify_dc(bad, host="h1", action="swap", channels=["webhook"]),
        lambda: downtime_set(bad, matchers=['instance="h1"'], backends=["alertmanager"]),
        lambda: downtime_set(bad, matchers=['instance="h1"'], backends=["http"], name="h"),
    ):
        with pytest.raises(CephflowError) as caught:
            call()
        shown.append("".join(traceback.format_exception(caught.value)))
    refused = make_ctx(_settings(smtp_with_secret, http_server.url, dead, dead))
    with pytest.raises(CephflowError) as caught:
        notify_dc(refused, host="h1", action="swap", channels=["webhook"])
    shown.append("".join(traceback.format_exception(caught.value)))

    for ctx in (ok, bad, refused):
        shown += [repr(ctx.backend.progress), repr(ctx.backend.facts), repr(ctx.backend.memos),
                  repr(ctx)]
    # cephflow's own logs and its libraries' (httpx, httpcore, smtplib); not the test SMTP server's
    shown += [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.name != "mail.log"]
    assert any(r.name == "httpx" and "/…" in r.getMessage() for r in caplog.records)
    assert any("webhook" in text for text in shown)
    _assert_clean(*shown)
