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
from typing import Any

from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.errors import DeliveryInDoubt, DeliveryRefused, NotifyError, StepFailed
from cephflow.hints import approve_command
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
    ``cephflow approve`` command becomes the confirm text when ``confirm`` is not given.
    ``template``/``subject`` replace the built-in text (jinja2, sandboxed, rendered when
    the step runs: wrap them in ``{% raw %}`` in the runbook).
    """
    facts: dict[str, Any] = _facts_from(ctx, facts_from or [])
    given = {"host": host, "osd": osd, "device": device, "model": model, "serial": serial,
             "slot": slot, "action": action, "summary": summary}
    facts.update({k: v for k, v in given.items() if v is not None})
    for name in given:  # the built-in text asks for each; unknown ones stay None
        facts.setdefault(name, None)
    if confirm is None and confirm_step:
        confirm = f"When done, run: {approve_command(ctx.workflow_id, confirm_step)}"
    facts["confirm"] = confirm or "Reply to this message when done."
    message = _message(ctx, subject or DC_SUBJECT, template or DC_BODY, facts, what=NOTIFY_DC_TASK)
    results = send_once(ctx, message, channels=channels, recipients=to)
    if not results:
        raise StepFailed(f"{NOTIFY_DC_TASK}: no channel configured (smtp.host or webhook.url)")
    return settle(ctx, results, what="technicians notified")


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
