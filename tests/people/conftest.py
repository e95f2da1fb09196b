"""Fixtures of the people tests: real Alertmanager, SMTP and HTTP servers."""

from __future__ import annotations

from tests.fixtures.alertmanager import alertmanager, alertmanager_pair  # noqa: F401
from tests.fixtures.http_server import http_server  # noqa: F401
from tests.fixtures.smtp_server import smtp_server, smtp_tls_server  # noqa: F401
