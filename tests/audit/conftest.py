"""Fixtures of the audit tests: real SMTP, HTTP and SSH servers, from tests/fixtures."""

from __future__ import annotations

from tests.fixtures.http_server import http_server  # noqa: F401
from tests.fixtures.smtp_server import smtp_server  # noqa: F401
from tests.fixtures.sshd import sshd  # noqa: F401
