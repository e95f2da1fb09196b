"""Fixtures of the audit tests: the real SMTP and HTTP servers, from tests/fixtures."""

from __future__ import annotations

from tests.fixtures.http_server import http_server  # noqa: F401
from tests.fixtures.smtp_server import smtp_server  # noqa: F401
