"""A generic HTTP downtime backend for monitoring systems other than Alertmanager.

Two templated requests: one sets a downtime, the other clears it. URLs and bodies are
jinja2 templates rendered in the sandbox over the downtime's variables (see
``HttpDowntimeSettings``); the clear request also sees ``id``, read from the set answer's
JSON field ``id_field``. The bearer token goes in a header and never into a record.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import jinja2

from cephflow.errors import MonitoringError
from cephflow.monitoring.http import call
from cephflow.sandbox import Sandbox
from cephflow.settings import HttpDowntimeSettings

_ENV = Sandbox(undefined=jinja2.StrictUndefined, autoescape=False)


def _render(source: str, variables: dict[str, Any], what: str) -> str:
    try:
        return _ENV.from_string(source).render(**variables)
    except Exception as exc:  # noqa: BLE001 - the template's own arithmetic too: never crash
        raise MonitoringError(f"http downtime: {what}: {type(exc).__name__}: {exc}") from exc


class HttpDowntime:
    """The configured set/clear requests."""

    def __init__(self, settings: HttpDowntimeSettings):
        self.settings = settings

    def _client(self) -> httpx.Client:
        headers = {"User-Agent": "cephflow"}
        headers.update({k: v.get_secret_value() for k, v in self.settings.headers.items()})
        if self.settings.token is not None:
            headers["Authorization"] = f"Bearer {self.settings.token.get_secret_value()}"
        verify: Any = str(self.settings.ca_file) if self.settings.ca_file else True
        return httpx.Client(timeout=self.settings.timeout, verify=verify, headers=headers)

    def _request(self, kind: str, method: str, url_t: str, body_t: str | None,
                 variables: dict[str, Any]) -> httpx.Response:
        url = _render(url_t, variables, f"{kind}_url")
        if body_t is None:
            content = json.dumps(variables, sort_keys=True) if kind == "set" else None
        else:
            content = _render(body_t, variables, f"{kind}_body")
        headers = {"Content-Type": "application/json"} if content is not None else {}
        with self._client() as client:
            return call(
                client, method.upper(), url, label=f"http downtime {kind} {method.upper()} {url}",
                attempts=self.settings.attempts, backoff=self.settings.backoff,
                ok_statuses=(404,) if kind == "clear" else (), content=content, headers=headers,
            )

    def set(self, variables: dict[str, Any]) -> dict[str, Any]:
        """Send the set request; returns the handle that ``clear`` needs."""
        if not self.settings.set_url:
            raise MonitoringError("http downtime: no set_url configured (http_downtime.set_url)")
        response = self._request("set", self.settings.set_method, self.settings.set_url,
                                 self.settings.set_body, variables)
        downtime_id = None
        if self.settings.id_field:
            try:
                downtime_id = response.json()[self.settings.id_field]
            except (ValueError, KeyError, TypeError) as exc:
                raise MonitoringError(
                    f"http downtime: the set answer has no JSON field {self.settings.id_field!r}"
                ) from exc
        return {"backend": "http", "id": downtime_id, "vars": variables}

    def clear(self, handle: dict[str, Any]) -> bool:
        """Send the clear request; False when the server no longer knew the downtime (404)."""
        if not self.settings.clear_url:
            return False
        variables = {**handle.get("vars", {}), "id": handle.get("id")}
        response = self._request("clear", self.settings.clear_method, self.settings.clear_url,
                                 self.settings.clear_body, variables)
        return response.status_code != 404
