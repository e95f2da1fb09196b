"""downtime.set / extend / clear against a real Alertmanager (and a real HTTP server)."""

from __future__ import annotations

import time
import traceback

import pytest

from cephflow.engine.context import MemoryBackend
from cephflow.errors import MonitoringError, StepFailed
from cephflow.monitoring.times import epoch
from cephflow.tasks.downtime import (
    downtime_clear,
    downtime_extend,
    downtime_set,
    fact_key,
    keep_alive,
)
from tests.fixtures.alertmanager import start_alertmanager
from tests.fixtures.services import free_port
from tests.tasks.support import fast, make_ctx

MATCHERS = ['instance=~"ceph-osd-17.*"', 'ceph_daemon="osd.41"']


def _marked(server, ctx, name="default"):
    """Active or pending silences of this workflow's downtime ``name`` on ``server``."""
    tag = f"cephflow:{ctx.workflow_id}:{name}"
    return [s for s in server.silences()
            if tag in s["comment"] and s["status"]["state"] in ("active", "pending")]


def test_silence_is_active_while_running_and_expired_after_clear(alertmanager):
    ctx = make_ctx(fast(alertmanager={"urls": [alertmanager.url], "creator": "ops-bot"}),
                   node_id="silence")
    before = time.time()
    result = downtime_set(ctx, matchers=MATCHERS, duration="2h", comment="replace osd.41")

    record = ctx.fact(fact_key("default"))
    [handle] = record["handles"]
    assert result["silences"] == [{"backend": "alertmanager", "url": alertmanager.url,
                                   "id": handle["id"]}]
    silence = alertmanager.silence(handle["id"])
    assert silence["status"]["state"] == "active"
    assert silence["createdBy"] == "ops-bot"
    assert ctx.workflow_id in silence["comment"] and "replace osd.41" in silence["comment"]
    assert {(m["name"], m["value"], m["isRegex"]) for m in silence["matchers"]} == {
        ("instance", "ceph-osd-17.*", True), ("ceph_daemon", "osd.41", False)}
    assert before + 7200 - 5 <= epoch(silence["endsAt"]) <= time.time() + 7200 + 5

    cleared = downtime_clear(ctx)
    assert alertmanager.state(handle["id"]) == "expired"
    assert cleared["cleared"] == [handle]
    assert ctx.fact(fact_key("default"))["cleared"] is True
    # clear is for `finally`: running it again is harmless
    assert downtime_clear(ctx)["cleared"] == [handle]


def test_redelivered_set_creates_no_second_silence(alertmanager):
    settings = fast(alertmanager={"urls": [alertmanager.url]})
    ctx = make_ctx(settings, node_id="silence")
    downtime_set(ctx, matchers=MATCHERS)
    downtime_set(ctx, matchers=MATCHERS)  # retried after success
    # redelivered after a crash between the API call and storing the fact: found by marker
    lost = make_ctx(settings, node_id="silence", workflow_id=ctx.workflow_id)
    downtime_set(lost, matchers=MATCHERS)
    assert len(_marked(alertmanager, ctx)) == 1
    assert lost.fact(fact_key("default"))["handles"] == ctx.fact(fact_key("default"))["handles"]
    downtime_clear(ctx)
    assert _marked(alertmanager, ctx) == []


def test_ha_pair_gets_the_silence_on_both_and_loses_it_on_both(alertmanager_pair):
    first, second = alertmanager_pair
    ctx = make_ctx(fast(alertmanager={"urls": [first.url, second.url]}))
    downtime_set(ctx, matchers=MATCHERS, name="host")
    handles = ctx.fact(fact_key("host"))["handles"]
    assert [h["url"] for h in handles] == [first.url, second.url]
    assert first.state(handles[0]["id"]) == second.state(handles[1]["id"]) == "active"
    downtime_clear(ctx, name="host")
    assert first.state(handles[0]["id"]) == second.state(handles[1]["id"]) == "expired"


def test_failure_half_way_keeps_the_silence_it_made_so_clear_expires_it(alertmanager):
    dead = f"http://127.0.0.1:{free_port()}"
    ctx = make_ctx(fast(alertmanager={"urls": [alertmanager.url, dead]}))
    with pytest.raises(MonitoringError, match="after 3 tries"):
        downtime_set(ctx, matchers=MATCHERS)
    [handle] = ctx.fact(fact_key("default"))["handles"]
    assert handle["url"] == alertmanager.url
    assert alertmanager.state(handle["id"]) == "active"
    downtime_clear(ctx)
    assert alertmanager.state(handle["id"]) == "expired"


def test_unreachable_alertmanager_fails_clearly_after_retries():
    dead = f"http://127.0.0.1:{free_port()}"
    ctx = make_ctx(fast(alertmanager={"urls": [dead], "attempts": 4}))
    with pytest.raises(MonitoringError) as caught:
        downtime_set(ctx, matchers=MATCHERS)
    message = str(caught.value)
    assert f"alertmanager {dead}: list silences failed" in message
    assert "after 4 tries" in message and "ConnectError" in message
    assert ctx.fact(fact_key("default")) is None


def test_busy_alertmanager_is_asked_exactly_attempts_times(http_server):
    http_server.fail_next(10, status=503)
    ctx = make_ctx(fast(alertmanager={"urls": [http_server.url], "attempts": 3}))
    with pytest.raises(MonitoringError, match=r"after 3 tries: _Busy: HTTP 503"):
        downtime_set(ctx, matchers=MATCHERS)
    assert len(http_server.refused) == 3


def test_extend_moves_the_end_and_keeps_the_id(alertmanager):
    ctx = make_ctx(fast(alertmanager={"urls": [alertmanager.url]}))
    downtime_set(ctx, matchers=MATCHERS, duration="10m")
    [handle] = ctx.fact(fact_key("default"))["handles"]
    result = downtime_extend(ctx, duration="3h")
    assert result["silences"][0]["id"] == handle["id"]
    silence = alertmanager.silence(handle["id"])
    assert silence["status"]["state"] == "active"
    assert epoch(silence["endsAt"]) >= time.time() + 3 * 3600 - 10
    # never shortens
    downtime_extend(ctx, duration="1m")
    assert epoch(alertmanager.silence(handle["id"])["endsAt"]) >= time.time() + 3 * 3600 - 10
    downtime_clear(ctx)


def test_keep_alive_extends_only_a_downtime_about_to_lapse(alertmanager):
    ctx = make_ctx(fast(alertmanager={"urls": [alertmanager.url], "extend_margin": 600}))
    downtime_set(ctx, matchers=MATCHERS, duration="1h", name="far")
    downtime_set(ctx, matchers=MATCHERS, duration="5m", name="near")
    far_end = ctx.fact(fact_key("far"))["ends_at"]
    keep_alive(ctx, ["far", "near", "absent"])
    assert ctx.fact(fact_key("far"))["ends_at"] == far_end
    [near] = ctx.fact(fact_key("near"))["handles"]
    assert epoch(alertmanager.silence(near["id"])["endsAt"]) >= time.time() + 1200 - 10
    downtime_clear(ctx, name="far")
    downtime_clear(ctx, name="near")


def test_bad_matcher_fails_the_step_before_touching_alertmanager(alertmanager):
    ctx = make_ctx(fast(alertmanager={"urls": [alertmanager.url]}))
    with pytest.raises(StepFailed, match="not a matcher"):
        downtime_set(ctx, matchers=["instance ~ host"])
    with pytest.raises(StepFailed, match="silence everything"):
        downtime_set(ctx, matchers=['job!="ceph"'])
    assert _marked(alertmanager, ctx) == []


def test_second_set_of_the_same_name_by_another_step_is_refused(alertmanager):
    backend = MemoryBackend()
    settings = fast(alertmanager={"urls": [alertmanager.url]})
    first = make_ctx(settings, node_id="a", backend=backend)
    downtime_set(first, matchers=MATCHERS)
    other = make_ctx(settings, node_id="b", backend=backend, workflow_id=first.workflow_id)
    with pytest.raises(StepFailed, match="already set by step a"):
        downtime_set(other, matchers=MATCHERS)
    downtime_clear(first)


def test_alertmanager_behind_basic_auth(tmp_path):
    password = "am-pw-Zq81x"
    server = start_alertmanager(tmp_path / "am", auth=("cephflow", password))
    try:
        good = make_ctx(fast(alertmanager={"urls": [server.url], "username": "cephflow",
                                           "password": password}))
        downtime_set(good, matchers=MATCHERS)
        [handle] = good.fact(fact_key("default"))["handles"]
        assert server.state(handle["id"]) == "active"
        downtime_clear(good)
        assert server.state(handle["id"]) == "expired"

        wrong = "not-the-pw-77"
        bad = make_ctx(fast(alertmanager={"urls": [server.url], "username": "cephflow",
                                          "password": wrong}))
        with pytest.raises(MonitoringError, match="HTTP 401") as caught:
            downtime_set(bad, matchers=MATCHERS)
        shown = "".join(traceback.format_exception(caught.value))
        assert wrong not in shown and password not in shown
        assert wrong not in repr(bad.settings) and wrong not in str(bad.backend.progress)
    finally:
        server.stop()


def test_http_backend_sets_and_clears_with_templated_requests(http_server):
    http_server.respond("POST", {"id": "dt-7"}, status=201)
    http_server.respond("DELETE", {}, status=204)
    token = "http-dt-token-Ww3"
    ctx = make_ctx(fast(http_downtime={
        "set_url": http_server.url + "/api/downtimes",
        "set_body": '{"host": {{ host | tojson }}, "until": {{ ends_epoch }}, '
                    '"why": {{ comment | tojson }}}',
        "clear_url": http_server.url + "/api/downtimes/{{ id }}",
        "token": token,
        "headers": {"X-Api-Key": "api-key-Hh4"},
    }))
    assert "api-key-Hh4" not in repr(ctx.settings)
    before = time.time()
    downtime_set(ctx, matchers=MATCHERS, host="ceph-osd-17", duration="30m")
    [posted] = http_server.wait_for(1)
    assert posted.method == "POST" and posted.path == "/api/downtimes"
    assert posted.headers["Authorization"] == f"Bearer {token}"
    assert posted.headers["X-Api-Key"] == "api-key-Hh4"
    body = posted.json()
    assert body["host"] == "ceph-osd-17" and ctx.workflow_id in body["why"]
    assert before + 1800 - 5 <= body["until"] <= time.time() + 1800 + 5
    assert ctx.fact(fact_key("default"))["handles"][0]["id"] == "dt-7"

    downtime_clear(ctx)
    deleted = http_server.wait_for(2)[1]
    assert (deleted.method, deleted.path) == ("DELETE", "/api/downtimes/dt-7")
    assert token not in str(ctx.backend.progress) and token not in str(ctx.backend.facts)


def test_alertmanager_url_with_credentials_is_refused_without_showing_them():
    ctx = make_ctx(fast(alertmanager={"urls": ["http://ops:pw-in-url-31@127.0.0.1:9/"]}))
    with pytest.raises(StepFailed, match="carries credentials") as caught:
        downtime_set(ctx, matchers=MATCHERS)
    assert "pw-in-url-31" not in "".join(traceback.format_exception(caught.value))
