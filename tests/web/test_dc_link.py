"""The datacentre link end to end: a real worker sends the ``notify.dc`` mail to a real SMTP
server, the link in it is opened against a real ``cephflow serve`` (uvicorn) as a phone's
browser would (GET the page, POST its form), on a real redis-server.

Each test checks what a wrong implementation would get wrong: the page shows the disk with
what the cluster said escaped; the first confirmation records the serial, approves the gate
as the technician (the history says so) and the workflow goes on; a second click, an altered
link, another workflow's link, an expired link, a bad entry, a gate someone else decided or
one whose approvers do not admit a link each get a clear page and change nothing; the gate
does not mail again whom the DC message reached.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cephflow.engine.client import WorkflowClient
from cephflow.engine.state import HistoryAction, WorkflowState
from cephflow.notify import dc_link
from cephflow.runbook.dag import Dag, Node
from tests.fixtures.celery_worker import worker_with_client
from tests.fixtures.services import free_port, stop_process, wait_until
from tests.fixtures.smtp_server import SmtpServer, start_smtp
from tests.paths import CEPHFLOW, REPO

pytestmark = [pytest.mark.services, pytest.mark.slow]

NAMESPACE = "cfdclink"
ME = pwd.getpwuid(os.getuid()).pw_name
SECRET = "dc-link-Test-Secret-0123456789abcdefXYZ"
SLOT = '<b>bay 7</b> & "left"'
"""What a cluster could call a slot: shown as text, never as markup."""
OLD_SERIAL = "ZA1B2C3D"


@dataclass
class Site:
    client: WorkflowClient
    smtp: SmtpServer
    url: str

    def mail(self, wf: str, subject_part: str) -> list:
        return [m for m in self.smtp.received
                if wf in m.message.get_content() and subject_part in m.message["Subject"]]


@pytest.fixture(scope="module")
def site(tmp_path_factory, redis_server) -> Iterator[Site]:
    """A worker and ``cephflow serve`` sharing one config: SMTP, the public URL, the secret."""
    base = tmp_path_factory.mktemp("dclink")
    smtp = start_smtp(base)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = base / "config.toml"
    config.write_text("\n".join([
        "poll_countdown = 0.3",
        "[smtp]", f'host = "{smtp.host}"', f"port = {smtp.port}", 'sender = "cephflow@lab"',
        'recipients = ["dc@lab"]', "backoff = 0.05",
        "[api]", f'public_url = "{url}"', f'link_secret = "{SECRET}"', ""]))
    env = dict(os.environ, CEPHFLOW_REDIS_URL=redis_server.url, CEPHFLOW_NAMESPACE=NAMESPACE,
               CEPHFLOW_CONFIG=str(config))
    log = base / "serve.log"
    proc = None
    try:
        with worker_with_client(redis_server, base, namespace=NAMESPACE, name="dclink",
                                env={"CEPHFLOW_CONFIG": str(config)}) as (_, client):
            with open(log, "wb") as out:
                proc = subprocess.Popen([CEPHFLOW, "serve", "--port", str(port)], cwd=REPO,
                                        env=env, stdout=out, stderr=subprocess.STDOUT,
                                        start_new_session=True)
            wait_until(lambda: _answering(proc, url, log), timeout=60, interval=0.1,
                       what="cephflow serve answering")
            yield Site(client, smtp, url)
    finally:
        if proc is not None:
            stop_process(proc, group=True, grace=10)
        smtp.stop()


def _answering(proc: subprocess.Popen, url: str, log: Path) -> bool:
    if proc.poll() is not None:
        raise AssertionError(f"cephflow serve exited:\n{log.read_text()[-3000:]}")
    try:
        return httpx.get(url + "/api/v1/openapi.json", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _dag(gate_args: dict | None = None) -> Dag:
    return Dag(runbook="dc-link-test", source="tests", nodes=[
        Node(id="tell-dc", step="tell-dc", task="notify.dc",
             args={"host": "ceph-osd-17", "osd": 41, "device": "/dev/sdk",
                   "model": "ST4000NM0035", "serial": OLD_SERIAL, "slot": SLOT,
                   "action": "Replace the disk of osd.41.", "confirm_step": "disk-replaced"}),
        Node(id="disk-replaced", step="disk-replaced", task="core.approval", after=["tell-dc"],
             args={"message": "Has the disk been replaced?", **(gate_args or {})}, timeout=120),
        Node(id="after", step="after", task="core.noop", after=["disk-replaced"]),
    ])


def _link_of(site: Site, wf: str) -> str:
    [mail] = wait_until(lambda: site.mail(wf, "osd.41"), timeout=30, what="the DC mail")
    body = mail.message.get_content()
    found = re.findall(rf"{re.escape(site.url)}/dc/\S+", body)
    assert len(found) == 1, body
    assert f"cephflow approve {wf} disk-replaced" in body  # the fallback is still named
    return found[0]


def _gate_waiting(site: Site, wf: str) -> None:
    wait_until(lambda: site.client.snapshot(wf).nodes["disk-replaced"].attempt >= 1,
               timeout=30, what="the gate to open")


def _post(link: str, serial: str = "ZB9Y8X7W", name: str = "Tom Tech") -> httpx.Response:
    return httpx.post(link, data={"new_serial": serial, "technician": name}, timeout=30)


def _unchanged(site: Site, wf: str) -> None:
    """Nothing a confirmation writes is there: no serial fact, the gate undecided."""
    assert site.client.get_fact(wf, dc_link.confirmed_fact_key("tell-dc")) is None
    assert site.client.get_fact(wf, "approval:disk-replaced") is None
    assert [e for e in site.client.history(wf) if e.action == HistoryAction.APPROVED] == []


def _token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


def test_the_link_confirms_once_and_a_second_click_says_it_was_used(site):
    wf = site.client.submit(_dag({"to": ["dc@lab", "ops@lab"]}), user=ME)
    link = _link_of(site, wf)
    _gate_waiting(site, wf)

    page = httpx.get(link, timeout=30)
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    for shown in ("ceph-osd-17", "osd.41", "/dev/sdk", "ST4000NM0035", OLD_SERIAL,
                  "Replace the disk of osd.41.", 'name="viewport"', 'name="new_serial"'):
        assert shown in page.text
    assert "&lt;b&gt;bay 7&lt;/b&gt; &amp; &#34;left&#34;" in page.text
    assert "<b>bay 7</b>" not in page.text
    assert site.client.state(wf) is WorkflowState.RUNNING  # looking changes nothing
    _unchanged(site, wf)

    done = _post(link)
    assert done.status_code == 200, done.text
    assert "confirmed" in done.text and "ZB9Y8X7W" in done.text and "dc:Tom Tech" in done.text
    assert site.client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
    fact = site.client.get_fact(wf, dc_link.confirmed_fact_key("tell-dc"))
    assert fact["serial"] == "ZB9Y8X7W" and fact["by"] == "dc:Tom Tech"
    assert fact["replaces"] == OLD_SERIAL and fact["slot"] == SLOT
    decision = site.client.get_fact(wf, "approval:disk-replaced")
    assert decision["by"] == "dc:Tom Tech" and decision["decision"] == "approved"
    [approved] = [e for e in site.client.history(wf) if e.action == HistoryAction.APPROVED]
    assert approved.user == "dc:Tom Tech" and approved.step == "disk-replaced"
    assert "ZB9Y8X7W" in approved.detail

    again = _post(link, serial="ZC0000001", name="Someone Else")
    assert again.status_code == 410
    assert "used already" in again.text and "Nothing was changed" in again.text
    assert "dc:Tom Tech" in again.text and "ZB9Y8X7W" in again.text
    assert httpx.get(link, timeout=30).status_code == 410
    assert site.client.get_fact(wf, dc_link.confirmed_fact_key("tell-dc")) == fact
    assert len([e for e in site.client.history(wf) if e.action == HistoryAction.APPROVED]) == 1

    # the DC message reached dc@lab: the gate mailed only ops@lab, once
    assert len(site.mail(wf, "osd.41")) == 1
    [gate_mail] = site.mail(wf, "approval needed")
    assert gate_mail.rcpt_tos == ["ops@lab"]


def test_clicks_at_the_same_time_confirm_once(site):
    wf = site.client.submit(_dag(), user=ME)
    link = _link_of(site, wf)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda i: _post(link, serial=f"ZN{i}0000", name=f"Tech {i}"),
                                range(4)))
    assert sorted(a.status_code for a in answers) == [200, 410, 410, 410]
    [winner] = [i for i, a in enumerate(answers) if a.status_code == 200]
    assert site.client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
    fact = site.client.get_fact(wf, dc_link.confirmed_fact_key("tell-dc"))
    assert (fact["serial"], fact["by"]) == (f"ZN{winner}0000", f"dc:Tech {winner}")
    [approved] = [e for e in site.client.history(wf) if e.action == HistoryAction.APPROVED]
    assert approved.user == f"dc:Tech {winner}"

def test_a_gate_that_only_the_dc_recipients_would_hear_of_sends_nothing(site):
    wf = site.client.submit(_dag(), user=ME)
    _link_of(site, wf)
    _gate_waiting(site, wf)
    wait_until(lambda: site.client.snapshot(wf).nodes["disk-replaced"].detail, timeout=30,
               what="the gate's progress")
    wait_until(lambda: "datacentre message" in (
        site.client.snapshot(wf).nodes["disk-replaced"].detail or ""), timeout=30,
        what="the gate saying the DC message told them")
    site.client.approve(wf, "disk-replaced", ME)
    assert site.client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED
    assert site.mail(wf, "approval needed") == []


def test_altered_other_workflows_and_expired_links_change_nothing(site):
    one = site.client.submit(_dag(), user=ME)
    two = site.client.submit(_dag(), user=ME)
    link, other = _link_of(site, one), _link_of(site, two)
    token = _token_of(link)

    altered = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
    for answer in (httpx.get(altered, timeout=30), _post(altered)):
        assert answer.status_code == 403 and "not valid" in answer.text

    # one's link against two: refused, though its signature is good
    crossed = f"{site.url}/dc/{two}/{token}"
    for answer in (httpx.get(crossed, timeout=30), _post(crossed)):
        assert answer.status_code == 403
        assert f"belongs to workflow {one}, not {two}" in answer.text

    # the same link, signed with an end in the past (no waiting for a real one to end)
    shown = site.client.get_fact(one, dc_link.shown_fact_key("tell-dc"))
    old = dc_link.DcLink(one, "tell-dc", "disk-replaced", shown["link"], int(time.time()) - 5)
    expired = dc_link.url(site.url, old, SECRET)
    for answer in (httpx.get(expired, timeout=30), _post(expired)):
        assert answer.status_code == 410 and "expired" in answer.text

    # a bad entry shows the form again with what is wrong, and uses nothing up
    blank = _post(link, serial="")
    assert blank.status_code == 422 and "serial" in blank.text and 'name="new_serial"' in blank.text
    same = _post(link, serial=OLD_SERIAL.lower())
    assert same.status_code == 422 and "serial of the disk to replace" in same.text
    nameless = _post(link, name="<script>")
    assert nameless.status_code == 422 and "<script>" not in nameless.text
    for wf in (one, two):
        assert site.client.state(wf) is WorkflowState.RUNNING
        _unchanged(site, wf)

    # the untouched link still works, and only for its own workflow
    assert _post(link).status_code == 200
    assert site.client.wait(one, timeout=60) is WorkflowState.SUCCEEDED
    _unchanged(site, two)
    assert _post(other).status_code == 200
    assert site.client.wait(two, timeout=60) is WorkflowState.SUCCEEDED


def test_a_gate_decided_otherwise_or_closed_to_links_refuses_the_link(site):
    decided = site.client.submit(_dag(), user=ME)
    closed = site.client.submit(_dag({"approvers": [ME]}), user=ME)
    admits = site.client.submit(_dag({"approvers": [ME, "dc:*"]}), user=ME)
    links = {wf: _link_of(site, wf) for wf in (decided, closed, admits)}

    site.client.reject(decided, "disk-replaced", ME, reason="wrong disk pulled")
    for answer in (httpx.get(links[decided], timeout=30), _post(links[decided])):
        assert answer.status_code == 410
        assert f"already rejected by {ME}" in answer.text
    assert site.client.get_fact(decided, dc_link.confirmed_fact_key("tell-dc")) is None

    for answer in (httpx.get(links[closed], timeout=30), _post(links[closed])):
        assert answer.status_code == 409 and f"may only be approved by {ME}" in answer.text
    _unchanged(site, closed)

    assert _post(links[admits]).status_code == 200
    assert site.client.wait(admits, timeout=60) is WorkflowState.SUCCEEDED
    site.client.cancel(closed, ME)
    assert site.client.wait(closed, timeout=60) is WorkflowState.CANCELLED
    ended = httpx.get(links[closed], timeout=30)
    assert ended.status_code == 409 and "has ended (cancelled)" in ended.text
    assert site.client.wait(decided, timeout=60) is WorkflowState.FAILED



CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def test_the_link_opened_in_a_browser_approves_the_gate_once(site, tmp_path):
    """A phone-sized headless Chromium: the page reads without zooming, the form confirms,
    and the same form submitted again from a second tab says the link was used."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"no browser at {CHROMIUM}")
    wf = site.client.submit(_dag(), user=ME)
    link = _link_of(site, wf)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                        has_touch=True, device_scale_factor=2)
            first, second = phone.new_page(), phone.new_page()
            for tab in (first, second):
                assert tab.goto(link).status == 200
            assert "ceph-osd-17" in first.inner_text("main")
            assert first.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            size = first.evaluate("parseFloat(getComputedStyle(document.querySelector("
                                  "'#new_serial')).fontSize)")
            assert size >= 16  # a phone does not zoom into the field
            first.screenshot(path=str(tmp_path / "dc-form.png"), full_page=True)

            first.fill("#new_serial", "ZB9Y8X7W")
            first.fill("#technician", "Tom Tech")
            with first.expect_navigation() as done:
                first.click("button[type=submit]")
            assert done.value.status == 200
            assert "Disk replacement confirmed" in first.inner_text("h1")
            assert site.client.wait(wf, timeout=60) is WorkflowState.SUCCEEDED

            second.fill("#new_serial", "ZC0000001")
            second.fill("#technician", "Someone Else")
            with second.expect_navigation() as again:
                second.click("button[type=submit]")
            assert again.value.status == 410
            assert "used already" in second.inner_text("main")
            second.screenshot(path=str(tmp_path / "dc-used.png"), full_page=True)
        finally:
            browser.close()
    fact = site.client.get_fact(wf, dc_link.confirmed_fact_key("tell-dc"))
    assert fact["serial"] == "ZB9Y8X7W" and fact["by"] == "dc:Tom Tech"
