"""Which channels are configured, and delivery of one message through one of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cephflow.errors import DeliveryRefused
from cephflow.notify.message import Message
from cephflow.notify.smtp import send_email
from cephflow.notify.webhook import send_webhook
from cephflow.settings import Settings

CHANNELS = ("email", "webhook")


def configured_channels(settings: Settings) -> list[str]:
    """The channels the settings make usable: email (an SMTP host) and webhook (a URL)."""
    found = []
    if settings.smtp.host:
        found.append("email")
    if settings.webhook.url is not None:
        found.append("webhook")
    return found


def deliver(
    settings: Settings, channel: str, message: Message, *, recipients: Sequence[str] | None = None
) -> dict[str, Any]:
    """Send ``message`` through ``channel`` (with that channel's retries); returns a receipt."""
    if channel == "email":
        return send_email(settings.smtp, message, recipients or settings.smtp.recipients)
    if channel == "webhook":
        return send_webhook(settings.webhook, message)
    raise DeliveryRefused(f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
