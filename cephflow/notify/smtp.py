"""One email through smtplib: STARTTLS or SMTPS when configured, auth only over TLS.

A try is *in doubt* when the connection breaks after the message body went out: the
server may have queued it, so it is not sent again (``DeliveryInDoubt``). Failures before
that point are retried when the server said "try later" (4xx, connection trouble) and
refused for good otherwise (5xx, authentication, certificate).
"""

from __future__ import annotations

import contextlib
import hashlib
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from cephflow.errors import DeliveryInDoubt, DeliveryRefused, NotifyError
from cephflow.notify.message import Message
from cephflow.settings import SmtpSettings
from cephflow.tries import Tries


class _InDoubt(Exception):
    """The body was sent and the answer lost (internal: becomes DeliveryInDoubt)."""


def build_email(settings: SmtpSettings, message: Message, recipients: Sequence[str]) -> EmailMessage:
    """The MIME message; its Message-ID is derived from ``message.key`` so retries share it."""
    mime = EmailMessage()
    mime["From"] = settings.sender
    mime["To"] = ", ".join(recipients)
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(localtime=False)
    if message.key:
        digest = hashlib.sha256(message.key.encode()).hexdigest()[:32]
        mime["Message-ID"] = f"<{digest}@cephflow>"
        mime["X-Cephflow-Key"] = message.key
    mime.set_content(message.body)
    return mime


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)


def _transient(exc: BaseException) -> bool:
    """Worth another try against the same server."""
    if isinstance(exc, (smtplib.SMTPAuthenticationError, ssl.SSLError, _InDoubt)):
        return False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items()]
        return "recipients refused: " + "; ".join(parts)
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


def _send_once(settings: SmtpSettings, mime: EmailMessage, recipients: Sequence[str]) -> str:
    """One connection, one try; returns the server's answer to the body."""
    assert settings.host is not None
    context = _tls_context(settings)
    if settings.ssl:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        smtp.ehlo()
        if settings.starttls and not settings.ssl:
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.username:
            password = settings.password.get_secret_value() if settings.password else ""
            smtp.login(settings.username, password)
        code, answer = smtp.mail(settings.sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, answer, settings.sender)
        refused = {}
        for rcpt in recipients:
            code, answer = smtp.rcpt(rcpt)
            if code not in (250, 251):
                refused[rcpt] = (code, answer)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)
        try:
            code, answer = smtp.data(mime.as_bytes())
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _InDoubt(f"connection lost while sending the message: {exc}") from exc
        if code != 250:  # data() raises only when DATA itself is refused, not the message
            raise smtplib.SMTPDataError(code, answer)
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
        return _text(answer)
    finally:
        smtp.close()


def send_email(settings: SmtpSettings, message: Message, recipients: Sequence[str]) -> dict[str, Any]:
    """Send ``message`` to ``recipients``; returns a JSON-able receipt (no secrets in it)."""
    if not settings.host:
        raise DeliveryRefused("email: no SMTP server configured (smtp.host)")
    recipients = list(recipients)
    if not recipients:
        raise DeliveryRefused("email: no recipients (smtp.recipients or the step's 'to')")
    if settings.username and not (settings.starttls or settings.ssl):
        raise DeliveryRefused(
            "email: refusing to send the SMTP password without TLS (set smtp.starttls or smtp.ssl)"
        )
    mime = build_email(settings, message, recipients)
    where = f"{settings.host}:{settings.port}"
    tries = Tries(attempts=settings.attempts, backoff=settings.backoff, transient=_transient)
    try:
        answer = tries.run(lambda: _send_once(settings, mime, recipients))
    except _InDoubt as exc:
        raise DeliveryInDoubt(f"email via {where}: {exc}; not sent again") from exc
    except (smtplib.SMTPException, OSError) as exc:
        summary = f"email via {where} failed after {tries.count} tries: {_describe(exc)}"
        if _transient(exc):
            raise NotifyError(summary) from exc
        raise DeliveryRefused(summary) from exc
    return {
        "channel": "email",
        "server": where,
        "recipients": recipients,
        "message_id": mime["Message-ID"],
        "attempts": tries.count,
        "answer": answer,
    }
