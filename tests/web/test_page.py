"""The web page in a real headless Chromium, on a real ``cephflow serve``, Redis and worker.

What a wrong page would get wrong: it would need a reload to show a step finish, show an
approve button that does nothing (or to someone who may not approve), submit a runbook
without showing its errors, or be unusable on a phone's width.
"""

from __future__ import annotations

import pytest

from tests.fixtures.browser import screenshot
from tests.web.test_api import _submit

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _log_in(page, api, path: str, token: str) -> None:
    page.goto(api.url + path)
    page.fill("#token", api.tokens[token])
    page.click("#login-form button")
    page.wait_for_selector("#who:has-text('(')")


def test_a_gate_approved_with_the_button_and_the_steps_turn_green_without_a_reload(
        api_server, page):
    api = api_server
    wf = _submit(api, who="ann")
    _log_in(page, api, f"/ui/workflows/{wf}", "alice")
    page.wait_for_selector("[data-approve='approve-confirm']")
    assert page.locator("[data-node='hello']").get_attribute("data-state") == "succeeded"
    assert page.locator("[data-node='bye']").get_attribute("data-state") == "pending"
    assert page.locator("#eta").inner_text() == "waiting for approval"
    page.evaluate("window.__same_page = true")  # gone if the page were reloaded
    screenshot(page, "workflow-waiting-for-approval")

    page.click("[data-approve='approve-confirm']")
    page.wait_for_selector("[data-node='bye'][data-state='succeeded']")
    page.wait_for_selector("#workflow-header [data-state='succeeded']")
    assert page.evaluate("window.__same_page") is True
    assert "null" not in page.locator("#workflow-header").inner_text()
    assert page.locator("[data-approve]").count() == 0
    page.click("[data-node='hello'] strong")  # a step's details: its output too
    page.wait_for_selector("#step-detail:has-text('hello ann')")
    screenshot(page, "workflow-succeeded")
    with api.client("viewer") as http:
        history = http.get("/history", params={"workflow": wf}).json()
    assert ("approved", "alice") in [(h["action"], h["user"]) for h in history]


def test_a_viewer_sees_the_gate_but_no_buttons(api_server, page):
    api = api_server
    wf = _submit(api)
    _log_in(page, api, f"/ui/workflows/{wf}", "viewer")
    page.wait_for_selector(".gate")
    assert page.locator("[data-approve]").count() == 0
    assert page.locator("#cancel").count() == 0
    assert "cephflow approve" in page.locator(".gate").inner_text()


def test_the_runbook_form_plans_shows_errors_and_submits(api_server, page):
    api = api_server
    _log_in(page, api, "/ui/runbooks/api-gate", "operator")
    page.wait_for_selector("#runbook-form")
    page.fill("#param-times", "0")
    page.fill("#param-who", "<b>bo</b>")
    page.click("#plan")
    page.wait_for_selector("#form-error:has-text('times')")
    page.fill("#param-times", "3")
    page.click("#plan")
    page.wait_for_selector("#plan-steps li")
    steps = page.locator("#plan-steps li").all_inner_texts()
    assert [s.split()[0] for s in steps] == ["hello", "approve-confirm", "confirm", "bye"]
    page.click("#submit")
    page.wait_for_url("**/ui/workflows/*")
    page.wait_for_selector(".gate")
    header = page.locator("#workflow-header").inner_text()
    assert 'who="<b>bo</b>"' in header  # shown as text, not as markup
    assert page.locator("#workflow-header b").count() == 0


def test_the_list_on_a_phone_fits_its_width(api_server, chromium):
    api = api_server
    wf = _submit(api)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                   has_touch=True)
    try:
        page = context.new_page()
        _log_in(page, api, "/", "viewer")
        page.wait_for_selector(f"[data-workflow='{wf}']")
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        screenshot(page, "workflow-list-phone")
    finally:
        context.close()


def test_a_bad_token_is_asked_again(api_server, page):
    api = api_server
    page.goto(api.url + "/")
    page.fill("#token", "cfl_wrong")
    page.click("#login-form button")
    page.wait_for_selector("#login-error:has-text('valid API token')")


def test_a_big_workflow_shows_its_summary_and_opens_rows_on_demand(api_server, page):
    from tests.web.test_api_scale import _at_gate
    from tests.web.test_api_scale import _submit as submit_runbook

    api = api_server
    wf = submit_runbook(api, "api-big", items=150)
    _at_gate(api, wf)
    _log_in(page, api, f"/ui/workflows/{wf}", "viewer")
    page.wait_for_selector("#summary-note")
    assert page.locator("#tree li").count() == 4  # the run, the gate's group and gate, bye
    assert "303/303" in page.locator("#tree li").first.inner_text()
    page.click("[data-open=':0-4']")
    page.wait_for_selector("[data-opened=':0-4'] [data-node='work']")
    page.click("[data-open=':3']")
    page.wait_for_selector("[data-opened=':3'] li >> nth=149")
    assert page.locator("[data-opened=':3'] li").count() == 150
    screenshot(page, "workflow-big-summary")
    page.click("[data-open=':0-4']")  # closed again
    page.wait_for_selector("[data-opened=':0-4']", state="detached")
