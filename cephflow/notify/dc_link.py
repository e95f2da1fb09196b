"""The datacentre link: a signed, expiring, single-use URL in the ``notify.dc`` message.

The technician opens it, sees which disk (host, slot, model, serial), types the new disk's
serial and confirms; that approves the gate the message names (``confirm_step``). The link
is its own credential: no login, no cookie. What it carries is signed with
``api.link_secret`` (HMAC-SHA256), so it cannot be altered or made up::

    <api.public_url>/dc/<workflow>/<payload>.<signature>

    payload    base64url of JSON {"w": workflow, "s": the notify.dc node, "g": the gate as
               confirm_step names it, "l": the link id, "e": end (epoch seconds)}
    signature  base64url of HMAC-SHA256(secret, "cephflow.dc-link.v1:" + payload)

The workflow id is also in the path, so a link pasted against another workflow is refused
however it was signed. What the page shows is read from the workflow (the fact
``dc-link:<node>`` the step writes before it sends), not from the URL. A link works once:
the confirmation claims the once-marker ``dc-link:<link id>`` of the notify.dc node (one
``SADD`` in the workflow's ``once`` set, expiring with the workflow) before anything else
changes. The facts named here are the contract between the step that sends the link, the
gate that skips recipients the message reached, and the page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from cephflow.errors import LinkExpired, LinkInvalid

PATH = "/dc/{workflow}/{token}"
"""Where ``cephflow serve`` answers a link, under ``api.public_url``."""

TECHNICIAN_PREFIX = "dc:"
"""A decision made with a link is recorded as the user ``dc:<name the technician typed>``;
a gate that lists ``approvers`` takes it when they include ``dc:*``."""

_CONTEXT = b"cephflow.dc-link.v1:"


@dataclass(frozen=True)
class DcLink:
    """What one link stands for."""

    workflow: str
    step: str
    """The notify.dc node that sent it (the page shows that step's disk)."""
    gate: str
    """The approval gate it decides, as ``confirm_step`` names it (node id or step)."""
    link: str
    """The link's own id (what its single use is claimed by)."""
    expires: int
    """Epoch seconds after which it no longer works."""

    @classmethod
    def new(cls, workflow: str, step: str, gate: str, *, now: float, ttl: float) -> DcLink:
        return cls(workflow, step, gate, secrets.token_urlsafe(9), int(now + ttl))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), _CONTEXT + payload.encode(), hashlib.sha256).digest())


def sign(link: DcLink, secret: str) -> str:
    """The token of ``link`` (the last part of its URL)."""
    body = {"w": link.workflow, "s": link.step, "g": link.gate, "l": link.link, "e": link.expires}
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_signature(secret, payload)}"


def url(public_url: str, link: DcLink, secret: str) -> str:
    """The link as sent: ``public_url`` + ``PATH``."""
    path = PATH.format(workflow=link.workflow, token=sign(link, secret))
    return public_url.rstrip("/") + path


def verify(token: str, secret: str, *, workflow: str, now: float) -> DcLink:
    """The link ``token`` stands for, when it was signed with ``secret`` for ``workflow`` and
    has not ended by ``now``; otherwise ``LinkInvalid`` or ``LinkExpired``."""
    payload, dot, signature = token.partition(".")
    if not dot or not hmac.compare_digest(signature.encode(), _signature(secret, payload).encode()):
        raise LinkInvalid("this link is not valid: it was altered, cut short, or not made by "
                          "this cephflow")
    try:
        body = json.loads(_unb64(payload))
        link = DcLink(str(body["w"]), str(body["s"]), str(body["g"]), str(body["l"]),
                      int(body["e"]))
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise LinkInvalid("this link is not valid: its content cannot be read") from exc
    if link.workflow != workflow:
        raise LinkInvalid(f"this link belongs to workflow {link.workflow}, not {workflow}")
    if now > link.expires:
        raise LinkExpired("this link has expired; ask the operator, who can confirm with "
                          "the command in the message")
    return link


def shown_fact_key(step: str) -> str:
    """The fact the notify.dc node ``step`` writes before it sends: what the page shows
    (host, osd, device, model, serial, slot, action), its gate and its link id."""
    return f"dc-link:{step}"


def confirmed_fact_key(step: str) -> str:
    """The fact a confirmation writes: the new disk's serial, who confirmed, the link id."""
    return f"new-disk:{step}"


def reached_fact_key(gate: str, channel: str, recipient: str | None = None) -> str:
    """The fact that a DC message naming ``gate`` reached ``recipient`` through ``channel``
    (email: one fact per address; webhook: one for the channel): the gate does not send
    them its own message again."""
    return f"dc-reached:{gate}:{channel}" + (f":{recipient}" if recipient else "")


def claim_marker(link: DcLink) -> str:
    """The once-marker (of the node ``link.step``) whose claim uses ``link`` up."""
    return f"dc-link:{link.link}"
