"""The approval gate: a step that waits for a person to type ``cephflow approve``.

The gate is a poll task: it never holds a worker slot while it waits. When it opens it
tells its approvers once (however often it is polled, retried or redelivered) what to
approve and the exact command to type, except those whom a ``notify.dc`` message naming
this gate (``confirm_step``) reached already: that message told them. It then checks the workflow fact
``approval:<node-id>``, which ``cephflow approve`` / ``cephflow reject`` write as
``{"decision": "approved"|"rejected", "by": user, "at": epoch, "reason": str}``.

Who may decide is named in the step's ``approvers`` argument (OS user names, ``@group``
for the members of a Unix group); the engine checks it in ``approve``/``reject`` (the same
rule, ``cephflow.engine.approvals.may_approve``), and the gate checks it again before it
obeys a decision.
"""

from __future__ import annotations

from typing import Any

from cephflow.engine.approvals import may_approve
from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.errors import StepFailed
from cephflow.hints import approve_command, reject_command
from cephflow.notify import dc_link
from cephflow.notify.channels import configured_channels
from cephflow.notify.message import Message
from cephflow.task_names import APPROVAL_TASK
from cephflow.tasks.downtime import keep_alive
from cephflow.tasks.notify import send_once

APPROVAL_FACT = "approval:{node_id}"


def approval_fact_key(node_id: str) -> str:
    """The workflow fact that ``cephflow approve/reject`` writes for the gate ``node_id``."""
    return APPROVAL_FACT.format(node_id=node_id)


def _announce(
    ctx: StepContext, message: str, approvers: list[str], notify: bool | list[str],
    to: list[str] | None,
) -> None:
    """Tell the approvers that the gate is open, once per channel however often it is polled."""
    command = approve_command(ctx.workflow_id, ctx.node_id)
    who = ", ".join(approvers) if approvers else "anyone"
    channels = configured_channels(ctx.settings) if notify is True else list(notify or [])
    if not channels:
        ctx.remember("announce_settled", True)
        return
    text = (
        f"{message}\n\n"
        f"Workflow {ctx.workflow_id} waits for an approval at step {ctx.node_id}.\n"
        f"Who may approve: {who}.\n\n"
        f"To approve:  {command}\n"
        f"To reject:   {reject_command(ctx.workflow_id, ctx.node_id)} --reason '...'\n"
    )
    msg = Message(
        subject=f"[cephflow] approval needed: {ctx.node_id}",
        body=text,
        facts={"workflow_id": ctx.workflow_id, "node_id": ctx.node_id, "command": command,
               "approvers": approvers, "message": message},
        key=f"{ctx.workflow_id}/{ctx.node_id}/announce",
    )
    channels, to, skipped = _not_reached_yet(ctx, channels, to)
    if not channels:
        ctx.progress("approvers already told by the datacentre message: " + ", ".join(skipped))
        ctx.remember("announce_settled", True)
        return
    results = send_once(ctx, msg, channels=channels, recipients=to, key="announce")
    if _settled(results):
        ctx.remember("announce_settled", True)
    bad = {c: r for c, r in results.items() if r["status"] not in ("delivered",)}
    if bad:
        ctx.progress(
            "approvers not reached via " + ", ".join(f"{c} ({r['status']})" for c, r in bad.items()),
            outcome=results,
        )
    else:
        ctx.progress("approvers notified via " + ", ".join(results), outcome=results)


def _not_reached_yet(
    ctx: StepContext, channels: list[str], to: list[str] | None,
) -> tuple[list[str], list[str] | None, list[str]]:
    """The channels and email recipients that a ``notify.dc`` message naming this gate
    (``confirm_step``) has not reached, and what it reached (``dc_link.reached_fact_key``)."""
    left: list[str] = []
    skipped: list[str] = []
    for channel in channels:
        if channel == "email":
            wanted = list(to or ctx.settings.smtp.recipients)
            reached = [a for a in wanted
                       if ctx.fact(dc_link.reached_fact_key(ctx.node_id, channel, a))]
            skipped += [f"email to {a}" for a in reached]
            if reached and len(reached) == len(wanted):
                continue
            if reached:
                to = [a for a in wanted if a not in reached]
        elif ctx.fact(dc_link.reached_fact_key(ctx.node_id, channel)):
            skipped.append(channel)
            continue
        left.append(channel)
    return left, to, skipped


_ANNOUNCE_TRIES = 3
"""Polls on which a failed announcement is tried again before the gate stops trying."""


def _settled(results: dict[str, dict[str, Any]]) -> bool:
    """True when no channel's outcome could change with another try."""
    return all(
        r["status"] != "failed" or r.get("generation", 0) >= _ANNOUNCE_TRIES
        for r in results.values()
    )


@task(APPROVAL_TASK, poll=True)
def approval(
    ctx: StepContext,
    *,
    message: str = "Approve to continue.",
    approvers: list[str] | None = None,
    notify: bool | list[str] = True,
    to: list[str] | None = None,
    downtimes: list[str] | None = None,
) -> dict[str, Any]:
    """Wait until a person approves (``cephflow approve``); rejection fails the step.

    ``approvers``: OS users, ``@group`` or ``dc:*`` (a datacentre link) allowed to decide
    (empty: anyone).
    ``notify``: True tells them through every configured channel, a list names the
    channels (``email``, ``webhook``), False tells nobody; ``to`` names the email
    addresses (default ``smtp.recipients``). The step's ``timeout`` bounds the wait; when it
    passes the step fails and the runbook's cleanup runs. While it waits it keeps the
    workflow's ``downtimes`` (default: ``default``) from lapsing.
    """
    approvers = list(approvers or [])
    decision = ctx.fact(approval_fact_key(ctx.node_id))
    if isinstance(decision, dict) and decision.get("decision") in ("approved", "rejected"):
        by = str(decision.get("by", "?"))
        if may_approve(by, approvers):
            if decision["decision"] == "rejected":
                reason = decision.get("reason") or "no reason given"
                raise StepFailed(f"rejected by {by}: {reason}")
            ctx.progress(f"approved by {by}")
            return {"decision": "approved", "by": by, "at": decision.get("at")}
        # The engine refuses such a decision; one written past it is ignored, not obeyed.
        if ctx.memo.get("ignored") != decision:
            ctx.progress(f"ignored a decision by {by}: not among {', '.join(approvers)}")
            ctx.remember("ignored", decision)

    left = ctx.time_left()
    if left is not None and left <= 0:
        raise StepFailed(f"no approval within the step's timeout (started {_ago(ctx, ctx.started_at)})")
    if ctx.memo.get("opened") is None:
        command = approve_command(ctx.workflow_id, ctx.node_id)
        who = ", ".join(approvers) if approvers else "anyone"
        ctx.progress(f"waiting for approval ({who}): {command}", command=command,
                     approvers=approvers)
        ctx.remember("opened", ctx.now())
    if not ctx.memo.get("announce_settled"):
        _announce(ctx, message, approvers, notify, to)
    keep_alive(ctx, ["default"] if downtimes is None else downtimes)
    countdown = ctx.settings.poll_countdown
    if left is not None:
        countdown = max(0.1, min(countdown, left))
    ctx.not_yet(countdown=countdown)
    return {}  # unreachable: not_yet raises


def _ago(ctx: StepContext, epoch: float) -> str:
    return f"{int(ctx.now() - epoch)}s ago"
