"""One webhook POST: plain JSON or a Slack/Mattermost incoming-webhook payload.

The URL is a secret (Slack and Mattermost put the credential in it), so errors name the
scheme and host only. A lost answer after the request went out is *in doubt* and not
re-sent; connection failures, 429 and 5xx are retried; other 4xx are refused for good.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit

import httpx

from cephflow.errors import DeliveryInDoubt, DeliveryRefused, NotifyError
from cephflow.notify.message import Message
from cephflow.settings import WebhookSettings
from cephflow.tries import Tries


class _Busy(Exception):
    """The server answered 429 or 5xx: it did not take the message, try again."""


class _Refused(Exception):
    """The server answered another 4xx: it will not take this message."""


class _InDoubt(Exception):
    """The request went out and the answer was lost."""


class _HideUrls(logging.Filter):
    """Rewrites httpx's request log lines ("HTTP Request: POST <url> ...") so that a secret
    webhook URL shows as its scheme and host only."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()
        self._lock = threading.Lock()

    def add(self, url: str) -> None:
        with self._lock:
            self.urls.add(url)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.urls:
            text = record.getMessage()
            hidden = text
            for url in sorted(self.urls, key=len, reverse=True):
                hidden = hidden.replace(url, public_url(url))
            if hidden != text:
                record.msg, record.args = hidden, ()
        return True


_HIDE = _HideUrls()
logging.getLogger("httpx").addFilter(_HIDE)


def payload(settings: WebhookSettings, message: Message) -> dict[str, Any]:
    """The JSON body for the configured ``style``."""
    if settings.style == "slack":
        body: dict[str, Any] = {"text": f"*{message.subject}*\n{message.body}"}
        if settings.channel:
            body["channel"] = settings.channel
        if settings.username:
            body["username"] = settings.username
        return body
    return {"subject": message.subject, "text": message.body, "facts": message.facts, "key": message.key}


def public_url(url: str) -> str:
    """What may be shown of a secret URL: its scheme and host."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, (_Busy, httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
                            httpx.WriteError, httpx.WriteTimeout))


def _post_once(client: httpx.Client, url: str, body: dict[str, Any], headers: dict[str, str]) -> int:
    try:
        response = client.post(url, json=body, headers=headers)
    except (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError) as exc:
        raise _InDoubt(type(exc).__name__) from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise _Busy(f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise _Refused(f"HTTP {response.status_code}")
    return response.status_code


def send_webhook(settings: WebhookSettings, message: Message) -> dict[str, Any]:
    """POST ``message``; returns a JSON-able receipt (no URL path, no token)."""
    if settings.url is None:
        raise DeliveryRefused("webhook: no URL configured (webhook.url)")
    url = settings.url.get_secret_value()
    where = public_url(url)
    _HIDE.add(url)
    headers = {"User-Agent": "cephflow"}
    if message.key:
        headers["Idempotency-Key"] = message.key
    if settings.token is not None:
        headers["Authorization"] = f"Bearer {settings.token.get_secret_value()}"
    verify: Any = str(settings.ca_file) if settings.ca_file else True
    tries = Tries(attempts=settings.attempts, backoff=settings.backoff, transient=_transient)
    try:
        with httpx.Client(timeout=settings.timeout, verify=verify) as client:
            status = tries.run(lambda: _post_once(client, url, payload(settings, message), headers))
    except _InDoubt as exc:
        raise DeliveryInDoubt(f"webhook {where}: answer lost ({exc}); not sent again") from None
    except _Refused as exc:
        raise DeliveryRefused(f"webhook {where} refused the message: {exc}") from None
    except (_Busy, httpx.HTTPError) as exc:
        # ``from None``: httpx's own messages may quote the URL, and the URL is the secret.
        raise NotifyError(
            f"webhook {where} failed after {tries.count} tries: "
            f"{type(exc).__name__}: {_safe(exc, url)}"
        ) from None
    return {"channel": "webhook", "server": where, "http_status": status, "attempts": tries.count}


def _safe(exc: BaseException, url: str) -> str:
    return str(exc).replace(url, public_url(url))
