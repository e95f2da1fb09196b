"""One Alertmanager's silences API (v2): create, find by marker, extend, expire.

Every call is retried (tenacity) on connection trouble, 429 and 5xx, then fails as
``MonitoringError`` naming the Alertmanager and the operation. Basic-auth credentials go
in a header; they never appear in a URL, a message or a record.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from cephflow.errors import MonitoringError
from cephflow.monitoring.http import call, json_of
from cephflow.monitoring.times import epoch, iso
from cephflow.settings import AlertmanagerSettings


class Alertmanager:
    """The silences of the Alertmanager at ``url``."""

    def __init__(self, url: str, settings: AlertmanagerSettings):
        if "@" in urlsplit(url).netloc:
            # It would show up in every message and record that names the Alertmanager.
            raise MonitoringError(
                "an alertmanager URL carries credentials: set alertmanager.username and "
                "alertmanager.password instead"
            )
        self.url = url.rstrip("/")
        self.settings = settings

    def __repr__(self) -> str:
        return f"Alertmanager({self.url!r})"

    def _client(self) -> httpx.Client:
        auth = None
        if self.settings.username:
            password = self.settings.password.get_secret_value() if self.settings.password else ""
            auth = httpx.BasicAuth(self.settings.username, password)
        verify: Any = str(self.settings.ca_file) if self.settings.ca_file else True
        return httpx.Client(
            base_url=self.url, auth=auth, timeout=self.settings.timeout, verify=verify,
            headers={"User-Agent": "cephflow"},
        )

    def _call(self, what: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API call with retries; a 404 is returned to the caller, other errors raise."""
        with self._client() as client:
            return call(
                client, method, path, label=f"alertmanager {self.url}: {what}",
                attempts=self.settings.attempts, backoff=self.settings.backoff,
                ok_statuses=(404,), **kwargs,
            )

    def create(
        self, matchers: list[dict[str, Any]], *, ends_at: float, comment: str,
        starts_at: float | None = None, created_by: str | None = None,
    ) -> str:
        """Create a silence; returns its id."""
        body = {
            "matchers": matchers,
            "startsAt": iso(starts_at if starts_at is not None else time.time()),
            "endsAt": iso(ends_at),
            "createdBy": created_by or self.settings.creator,
            "comment": comment,
        }
        response = self._call("create silence", "POST", "/api/v2/silences", json=body)
        if response.status_code == 404:
            raise MonitoringError(f"alertmanager {self.url}: no silences API v2 at this URL")
        return str(json_of(response, self.url)["silenceID"])

    def get(self, silence_id: str) -> dict[str, Any] | None:
        """The silence (with ``status.state``: active, pending, expired), or None if unknown."""
        response = self._call("get silence", "GET", f"/api/v2/silence/{silence_id}")
        return None if response.status_code == 404 else json_of(response, self.url)

    def silences(self) -> list[dict[str, Any]]:
        """Every silence this Alertmanager holds (expired ones included, until GC)."""
        return list(json_of(self._call("list silences", "GET", "/api/v2/silences"), self.url))

    def find(self, marker: str) -> list[dict[str, Any]]:
        """Active or pending silences whose comment carries ``marker``."""
        return [
            s for s in self.silences()
            if marker in s.get("comment", "") and s["status"]["state"] in ("active", "pending")
        ]

    def extend(self, silence_id: str, ends_at: float) -> str:
        """Move the silence's end to ``ends_at`` (never earlier); returns its id (may change).

        An active silence keeps its id. One that already lapsed is re-created by the API
        with a new id: the caller records whichever comes back.
        """
        current = self.get(silence_id)
        if current is None:
            raise MonitoringError(f"alertmanager {self.url}: silence {silence_id} is unknown")
        if epoch(current["endsAt"]) >= ends_at and current["status"]["state"] != "expired":
            return silence_id
        body = {
            "id": silence_id,
            "matchers": current["matchers"],
            "startsAt": current["startsAt"],
            "endsAt": iso(ends_at),
            "createdBy": current["createdBy"],
            "comment": current["comment"],
        }
        if current["status"]["state"] == "expired":
            body["startsAt"] = iso(time.time())
        response = self._call("extend silence", "POST", "/api/v2/silences", json=body)
        if response.status_code == 404:
            raise MonitoringError(f"alertmanager {self.url}: silence {silence_id} vanished")
        return str(json_of(response, self.url)["silenceID"])

    def expire(self, silence_id: str) -> bool:
        """Expire the silence now; False when it was unknown or had already ended."""
        current = self.get(silence_id)
        if current is None or current["status"]["state"] == "expired":
            return False
        response = self._call("expire silence", "DELETE", f"/api/v2/silence/{silence_id}")
        return response.status_code != 404
