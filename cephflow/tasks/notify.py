"""Messages to people as workflow steps: ``notify.dc`` (the technicians) and ``notify.send``.

A message goes out as rendered, a secret param in it included: sending it is the step's
purpose. What cephflow shows of the step (progress, result, errors) has the secret masked
(``cephflow.masking``, applied by the step's context and the runner, not here).

Exactly once per step: before each channel's delivery the run claims it with
``ctx.once("notify:<channel>#<generation>")`` and afterwards remembers the outcome on the
step (``ctx.remember``). A retried or redelivered run therefore skips what was delivered,
never touches a delivery another run claimed and left without an outcome (it may have gone
out: "in doubt"), and tries again only what failed for sure (a new generation).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.errors import DeliveryInDoubt, DeliveryRefused, NotifyError, StepFailed
from cephflow.hints import approve_command
from cephflow.notify import dc_link
from cephflow.notify.channels import configured_channels, deliver
from cephflow.notify.message import Message, render
from cephflow.task_names import NOTIFY_DC_TASK, NOTIFY_SEND_TASK

DC_SUBJECT = (
    "[cephflow] {{ host }}{% if osd is not none %} osd.{{ osd }}{% endif %}: {{ summary }}"
)
DC_BODY = """\
Hello,

cephflow workflow {{ workflow_id }} (step {{ node_id }}) needs hands in the datacentre.

Host:     {{ host }}
{% if osd is not none %}OSD:      osd.{{ osd }}
{% endif %}{% if device %}Device:   {{ device }}
{% endif %}{% if model %}Model:    {{ model }}
{% endif %}{% if serial %}Serial:   {{ serial }}
{% endif %}{% if slot %}Slot/bay: {{ slot }}
{% endif %}

What to do:
{{ action }}

How to confirm:
{{ confirm }}
"""


def send_once(
    ctx: StepContext,
    message: Message,
    *,
    channels: Sequence[str] | None = None,
    recipients: Sequence[str] | None = None,
    key: str = "notify",
) -> dict[str, dict[str, Any]]:
    """Deliver ``message`` through each channel at most once for this step.

    Returns ``{channel: record}`` where a record's ``status`` is ``delivered``, ``in-doubt``
    (may have gone out; never re-sent), ``failed`` (did not go out; a later run tries again)
    or ``refused`` (will not go out). Each record is also remembered on the step.
    """
    chosen = list(channels) if channels else configured_channels(ctx.settings)
    results: dict[str, dict[str, Any]] = {}
    for channel in chosen:
        memo_key = f"{key}:{channel}"
        record = dict(ctx.memo.get(memo_key) or {})
        if record.get("status") in ("delivered", "in-doubt", "refused"):
            results[channel] = record
            continue
        generation = int(record.get("generation", 0))
        if not ctx.once(f"{memo_key}#{generation}"):
            record = {
                "status": "in-doubt",
                "generation": generation,
                "error": "an earlier run of this step claimed the delivery and left no outcome",
            }
        else:
            record = _deliver(ctx, channel, message, recipients, generation)
        ctx.remember(memo_key, record)
        results[channel] = record
    return results


def _deliver(
    ctx: StepContext,
    channel: str,
    message: Message,
    recipients: Sequence[str] | None,
    generation: int,
) -> dict[str, Any]:
    try:
        receipt = deliver(ctx.settings, channel, message, recipients=recipients)
    except DeliveryInDoubt as exc:
        return {"status": "in-doubt", "generation": generation, "error": str(exc)}
    except DeliveryRefused as exc:
        return {"status": "refused", "generation": generation, "error": str(exc)}
    except NotifyError as exc:
        return {"status": "failed", "generation": generation + 1, "error": str(exc)}
    return {**receipt, "status": "delivered", "generation": generation, "at": time.time()}


def settle(ctx: StepContext, results: dict[str, dict[str, Any]], *, what: str) -> dict[str, Any]:
    """Publish the outcome and turn it into the step's result or error.

    Nothing delivered for sure and something refused: the step fails for good. Something
    failed that a retry may fix: ``NotifyError`` (retried per the step's policy; delivered
    channels are not sent again). Otherwise the step succeeds, in-doubt channels noted.
    """
    summary = ", ".join(f"{c} {r['status']}" for c, r in results.items())
    ctx.progress(f"{what}: {summary}", outcome=results)
    failed = {c: r for c, r in results.items() if r["status"] == "failed"}
    refused = {c: r for c, r in results.items() if r["status"] == "refused"}
    if failed:
        raise NotifyError("; ".join(r["error"] for r in failed.values()))
    if refused and not any(r["status"] == "delivered" for r in results.values()):
        raise StepFailed("; ".join(r["error"] for r in refused.values()))
    return {"channels": results}


def _facts_from(ctx: StepContext, keys: Sequence[str]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key in keys:
        value = ctx.fact(key)
        if isinstance(value, dict):
            merged.update(value)
    return merged


def _message(
    ctx: StepContext, subject: str, body: str, facts: dict[str, Any], *, what: str
) -> Message:
    variables = {"workflow_id": ctx.workflow_id, "node_id": ctx.node_id, **facts}
    try:
        return Message(
            # one line: a header with a line break in it is refused by the email library
            subject=" ".join(render(subject, variables, what=f"{what} subject").split()),
            body=render(body, variables, what=f"{what} body"),
            facts=facts,
            key=f"{ctx.workflow_id}/{ctx.node_id}",
        )
    except DeliveryRefused as exc:
        raise StepFailed(str(exc)) from exc


@task(NOTIFY_DC_TASK)
def notify_dc(
    ctx: StepContext,
    *,
    host: str,
    action: str,
    confirm: str | None = None,
    confirm_step: str | None = None,
    osd: int | None = None,
    device: str | None = None,
    model: str | None = None,
    serial: str | None = None,
    slot: str | None = None,
    summary: str = "disk work needed",
    facts_from: list[str] | None = None,
    template: str | None = None,
    subject: str | None = None,
    channels: list[str] | None = None,
    to: list[str] | None = None,
) -> dict[str, Any]:
    """Tell the DC technicians which disk to handle, what to do and how to confirm.

    Facts: the arguments, completed by the workflow facts named in ``facts_from`` (dicts
    that an earlier step stored, e.g. the device's model and serial); an argument given
    here wins. ``confirm_step`` names the approval gate the technician confirms with; its
    ``cephflow approve`` command becomes the confirm text when ``confirm`` is not given,
    after a datacentre link to a confirmation page when ``api.public_url`` and
    ``api.link_secret`` are set (``cephflow.notify.dc_link``; ``{{ link }}`` in a template).
    Whom the message reached is noted for that gate, which then does not message them again.
    ``template``/``subject`` replace the built-in text (jinja2, sandboxed, rendered when
    the step runs: wrap them in ``{% raw %}`` in the runbook).
    """
    facts: dict[str, Any] = _facts_from(ctx, facts_from or [])
    given = {"host": host, "osd": osd, "device": device, "model": model, "serial": serial,
             "slot": slot, "action": action, "summary": summary}
    facts.update({k: v for k, v in given.items() if v is not None})
    for name in given:  # the built-in text asks for each; unknown ones stay None
        facts.setdefault(name, None)
    link = _dc_link(ctx, confirm_step, facts) if confirm_step else None
    facts["link"] = link
    if confirm is None and confirm_step:
        command = approve_command(ctx.workflow_id, confirm_step)
        confirm = f"When done, run: {command}"
        if link is not None:
            confirm = (f"When done, open this link, type the new disk's serial and confirm "
                       f"(it works once, for {_duration(ctx.settings.api.link_ttl)}):\n"
                       f"{link}\n\nWithout the link, the operator confirms with: {command}")
    facts["confirm"] = confirm or "Reply to this message when done."
    message = _message(ctx, subject or DC_SUBJECT, template or DC_BODY, facts, what=NOTIFY_DC_TASK)
    results = send_once(ctx, message, channels=channels, recipients=to)
    if not results:
        raise StepFailed(f"{NOTIFY_DC_TASK}: no channel configured (smtp.host or webhook.url)")
    if confirm_step:
        _record_reached(ctx, confirm_step, results)
    return settle(ctx, results, what="technicians notified")


_SHOWN = ("host", "osd", "device", "model", "serial", "slot", "action")
"""What the datacentre link's page shows of the disk (kept in the fact ``dc_link.shown_fact_key``)."""


def _dc_link(ctx: StepContext, gate: str, facts: dict[str, Any]) -> str | None:
    """The URL of this step's datacentre link, made once (the same on every run of the step),
    or None when ``api.public_url`` or ``api.link_secret`` is not set.

    What the page shows is kept as a workflow fact before the link exists anywhere else, so
    the page can be opened as soon as the message arrives.
    """
    api = ctx.settings.api
    if api.public_url is None or api.link_secret is None:
        if api.public_url is not None:
            ctx.progress("no datacentre link: api.link_secret is not set")
        return None
    made = ctx.memo.get("dc_link")
    if isinstance(made, dict):
        link = dc_link.DcLink(**made)
    else:
        link = dc_link.DcLink.new(ctx.workflow_id, ctx.node_id, gate, now=ctx.now(),
                                  ttl=api.link_ttl)
        shown = {name: facts.get(name) for name in _SHOWN}
        ctx.set_fact(dc_link.shown_fact_key(ctx.node_id),
                     {**shown, "gate": gate, "link": link.link, "expires": link.expires})
        ctx.remember("dc_link", asdict(link))
    return dc_link.url(api.public_url, link, api.link_secret.get_secret_value())


def _record_reached(ctx: StepContext, gate: str, results: dict[str, dict[str, Any]]) -> None:
    """Note on the workflow whom the message reached for sure, so that ``gate`` (which it
    told them how to confirm) does not send them its own message again."""
    for channel, record in results.items():
        if record.get("status") != "delivered":
            continue
        if channel == "email":
            for address in record.get("recipients") or []:
                ctx.set_fact(dc_link.reached_fact_key(gate, channel, address), True)
        else:
            ctx.set_fact(dc_link.reached_fact_key(gate, channel), True)


def _duration(seconds: float) -> str:
    hours = seconds / 3600
    if hours >= 1:
        return f"{hours:g} hours" if hours != 1 else "1 hour"
    return f"{max(1, round(seconds / 60))} minutes"


@task(NOTIFY_SEND_TASK)
def notify_send(
    ctx: StepContext,
    *,
    subject: str,
    text: str,
    facts: dict[str, Any] | None = None,
    channels: list[str] | None = None,
    to: list[str] | None = None,
) -> dict[str, Any]:
    """Send a free-form message (subject and text are templates over ``facts``)."""
    message = _message(ctx, subject, text, dict(facts or {}), what=NOTIFY_SEND_TASK)
    results = send_once(ctx, message, channels=channels, recipients=to)
    if not results:
        raise StepFailed(f"{NOTIFY_SEND_TASK}: no channel configured (smtp.host or webhook.url)")
    return settle(ctx, results, what="message sent")
