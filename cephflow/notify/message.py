"""A message to people, and the sandboxed rendering of the runbook's templates into it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2

from cephflow.errors import DeliveryRefused
from cephflow.sandbox import Sandbox

_ENV = Sandbox(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Message:
    """What is sent: the same subject and text on every channel.

    ``key`` identifies the message across retries (``<workflow>/<step>``): it becomes the
    email's Message-ID and the webhook's ``Idempotency-Key`` header, so a receiver that
    deduplicates can.
    """

    subject: str
    body: str
    facts: dict[str, Any] = field(default_factory=dict)
    """The facts the text was rendered from (sent as structured data by the JSON webhook)."""
    key: str | None = None


def render(source: str, variables: Mapping[str, Any], *, what: str = "template") -> str:
    """Render a jinja2 template in the sandbox; an undefined name is an error, not blank text."""
    try:
        return _ENV.from_string(source).render(**variables)
    except Exception as exc:  # noqa: BLE001 - the template's own arithmetic too: never crash
        raise DeliveryRefused(f"{what}: {type(exc).__name__}: {exc}") from exc
