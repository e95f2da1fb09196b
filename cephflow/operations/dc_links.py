"""What a datacentre link lets its holder do: see the disk, and confirm its replacement once.

``notify.dc`` sends the link (``cephflow.notify.dc_link`` says what it carries); ``cephflow
serve`` answers it with a page (``cephflow.web.dc``) that calls these two functions. Every
refusal is a ``LinkError`` raised before anything is written: a link that is altered or
another workflow's (``LinkInvalid``), past its end (``LinkExpired``), used once already or
whose gate someone decided (``LinkUsed``), or whose workflow has ended or whose gate does
not admit a link (``LinkRefused``).

A confirmation is recorded as the user ``dc:<the name the technician typed>`` (the link is
the credential; the name says who held it). The gate's own ``approvers`` still rule: a gate
that lists approvers takes a link's confirmation only when they include ``dc:*``. In that
order, a confirmation claims the link (one atomic once-marker: of two clicks, one wins),
records the new disk's serial as the workflow fact ``new-disk:<notify.dc node>`` (before the
gate opens, so the steps after it can read it), and approves the gate, early if it is not
reached yet (the message can arrive before the gate starts waiting). The approval's history
entry names the technician and the serial.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from cephflow.engine import gates
from cephflow.engine.approvals import may_approve
from cephflow.engine.client import WorkflowClient
from cephflow.engine.context_backend import RedisContextBackend
from cephflow.errors import (
    InvalidTransition,
    LinkExpired,
    LinkInvalid,
    LinkRefused,
    LinkUsed,
    ParamError,
    WorkflowNotFound,
)
from cephflow.notify import dc_link
from cephflow.notify.dc_link import DcLink

SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:/+-]{0,63}$")
"""A disk serial as typed: letters, digits and ``._:/+-`` (spaces inside), at most 64."""
NAME = re.compile(r"^\w[\w .@'-]{0,63}$")
"""A technician's name as typed: letters (any script), digits, ``.@'-`` and spaces."""


@dataclass(frozen=True)
class LinkPage:
    """What the page of a usable link shows."""

    link: DcLink
    runbook: str
    disk: dict[str, Any]
    """``host``, ``osd``, ``device``, ``model``, ``serial``, ``slot``, ``action`` (None: unknown)."""


@dataclass(frozen=True)
class Confirmed:
    """What a confirmation recorded."""

    page: LinkPage
    by: str
    new_serial: str
    decisions: list[gates.GateDecision]


def open_link(client: WorkflowClient, workflow: str, token: str, *,
              now: float | None = None) -> LinkPage:
    """The disk a link is about, when the link can still confirm it (else a ``LinkError``)."""
    link = _verified(client, workflow, token, now)
    try:
        shown = client.get_fact(link.workflow, dc_link.shown_fact_key(link.step))
        runbook = client.audit(link.workflow).get("runbook", "")
        if shown is None:
            client.state(link.workflow)  # WorkflowNotFound when it is gone
    except WorkflowNotFound as exc:
        raise LinkExpired(f"workflow {link.workflow} no longer exists; nothing to "
                          "confirm") from exc
    if shown is None or shown.get("link") != link.link:
        raise LinkInvalid("this link was replaced by a newer one; use the latest message")
    _check_unused(client, link)
    found = _gates(client, link)
    for node, _ in found:
        decided = gates.decision_of(client, link.workflow, node)
        if decided is not None:
            raise LinkUsed(f"the gate {node} was already {decided.get('decision')} by "
                           f"{decided.get('by')}; nothing to confirm")
    state = client.state(link.workflow)
    if state.terminal:
        raise LinkRefused(f"workflow {link.workflow} has ended ({state.value}); nothing to "
                          "confirm")
    for node, args in found:
        approvers = args.get("approvers")
        entries = [approvers] if isinstance(approvers, str) else list(approvers or [])
        if entries and not any(str(e).startswith(dc_link.TECHNICIAN_PREFIX) for e in entries):
            raise LinkRefused(f"the gate {node} may only be approved by "
                              f"{', '.join(map(str, entries))}; ask one of them to confirm")
    disk = {name: shown.get(name) for name in ("host", "osd", "device", "model", "serial",
                                               "slot", "action")}
    return LinkPage(link, runbook, disk)


def confirm(client: WorkflowClient, workflow: str, token: str, *, new_serial: str,
            technician: str, now: float | None = None) -> Confirmed:
    """Confirm the disk's replacement with a link: once, as ``dc:<technician>``.

    Bad input (``ParamError``) and every refusal of ``open_link`` change nothing.
    """
    new_serial, technician = new_serial.strip(), " ".join(technician.split())
    if not SERIAL.match(new_serial):
        raise ParamError("type the new disk's serial as printed on its label (letters, "
                         "digits and ._:/+- only, at most 64)")
    if not NAME.match(technician):
        raise ParamError("type your name (letters, digits, spaces and .@'- only, at most 64)")
    page = open_link(client, workflow, token, now=now)
    old = page.disk.get("serial")
    if old and str(old).casefold() == new_serial.casefold():
        raise ParamError(f"{new_serial} is the serial of the disk to replace; type the new "
                         "disk's serial")
    link, user = page.link, dc_link.TECHNICIAN_PREFIX + technician
    for node, args in _gates(client, link):
        if not may_approve(user, args.get("approvers")):
            raise LinkRefused(f"the gate {node} does not admit {user}")
    backend = RedisContextBackend(client.redis, client.transitions, client.ns)
    if not backend.claim_once(link.workflow, link.step, dc_link.claim_marker(link)):
        raise LinkUsed("this link was used already (a link works once)")
    client.set_fact(link.workflow, dc_link.confirmed_fact_key(link.step), {
        "serial": new_serial, "by": user, "link": link.link, "at": time.time(),
        "replaces": old, "host": page.disk.get("host"), "osd": page.disk.get("osd"),
        "slot": page.disk.get("slot")})
    try:
        decisions = client.approve(link.workflow, link.gate, user, early=True,
                                   note=f"new disk serial {new_serial} (datacentre link)")
    except InvalidTransition as exc:  # decided or ended between the check and now
        raise LinkRefused(str(exc)) from exc
    return Confirmed(page, user, new_serial, decisions)


def _verified(client: WorkflowClient, workflow: str, token: str, now: float | None) -> DcLink:
    secret = client.settings.api.link_secret
    if secret is None:
        raise LinkRefused("this cephflow cannot check datacentre links: api.link_secret is "
                          "not set")
    return dc_link.verify(token, secret.get_secret_value(), workflow=workflow,
                          now=time.time() if now is None else now)


def _check_unused(client: WorkflowClient, link: DcLink) -> None:
    done = client.get_fact(link.workflow, dc_link.confirmed_fact_key(link.step))
    if isinstance(done, dict) and done.get("link") == link.link:
        raise LinkUsed(f"this link was used already: {done.get('by')} confirmed the new disk "
                       f"(serial {done.get('serial')}) at {_when(done.get('at'))}")


def _gates(client: WorkflowClient, link: DcLink) -> list[tuple[str, dict[str, Any]]]:
    try:
        return gates.gate_nodes(client, link.workflow, link.gate)
    except InvalidTransition as exc:
        raise LinkRefused(str(exc)) from exc


def _when(epoch: Any) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(epoch)))
    except (TypeError, ValueError):
        return "an earlier time"
