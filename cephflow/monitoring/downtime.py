"""A downtime across every configured backend, kept as one JSON-able record.

The record (what the workflow stores as the fact ``downtime:<name>``)::

    {"name": "default", "marker": "cephflow:<workflow>:default", "matchers": [...],
     "comment": "...", "ends_at": 1764000000.0, "cleared": false,
     "handles": [{"backend": "alertmanager", "url": "http://am1:9093", "id": "..."},
                 {"backend": "http", "id": "42", "vars": {...}}]}

Handles are added one backend at a time, so a caller that stores the record after each
one never loses a silence it created, even when a later backend fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cephflow.errors import MonitoringError
from cephflow.monitoring.alertmanager import Alertmanager
from cephflow.monitoring.generic import HttpDowntime
from cephflow.monitoring.times import iso
from cephflow.settings import Settings

BACKENDS = ("alertmanager", "http")


def marker(workflow_id: str, name: str) -> str:
    """The tag in a downtime's comment that finds it again without its id."""
    return f"cephflow:{workflow_id}:{name}"


def configured_backends(settings: Settings) -> list[str]:
    found = []
    if settings.alertmanager.urls:
        found.append("alertmanager")
    if settings.http_downtime.set_url:
        found.append("http")
    return found


def targets(settings: Settings, backends: list[str] | None) -> list[tuple[str, str | None]]:
    """``(backend, url)`` pairs to set a downtime on: each Alertmanager, the HTTP backend."""
    chosen = backends or configured_backends(settings)
    if not chosen:
        raise MonitoringError(
            "no downtime backend configured (alertmanager.urls or http_downtime.set_url)"
        )
    result: list[tuple[str, str | None]] = []
    for backend in chosen:
        if backend == "alertmanager":
            if not settings.alertmanager.urls:
                raise MonitoringError("alertmanager: no URL configured (alertmanager.urls)")
            for url in settings.alertmanager.urls:
                Alertmanager(url, settings.alertmanager)  # refuses a URL with credentials in it
                result.append(("alertmanager", url.rstrip("/")))
        elif backend == "http":
            result.append(("http", None))
        else:
            raise MonitoringError(f"unknown downtime backend {backend!r} (known: {', '.join(BACKENDS)})")
    return result


def variables(record: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """What the HTTP backend's templates see."""
    return {
        "name": record["name"],
        "matchers": record["matchers"],
        "comment": record["comment"],
        "creator": record.get("creator", "cephflow"),
        "starts_at": iso(record["starts_at"]),
        "ends_at": iso(record["ends_at"]),
        "starts_epoch": int(record["starts_at"]),
        "ends_epoch": int(record["ends_at"]),
        "duration": int(record["ends_at"] - record["starts_at"]),
        **extra,
    }


def set_on(settings: Settings, record: dict[str, Any], backend: str, url: str | None,
           extra: dict[str, Any]) -> dict[str, Any]:
    """Set the downtime on one target; returns its handle. Re-uses a silence found by marker."""
    if backend == "alertmanager":
        assert url is not None
        am = Alertmanager(url, settings.alertmanager)
        existing = am.find(record["marker"])
        if existing:
            silence_id = am.extend(existing[0]["id"], record["ends_at"])
        else:
            silence_id = am.create(record["matchers"], ends_at=record["ends_at"],
                                   comment=record["comment"], created_by=record.get("creator"))
        return {"backend": "alertmanager", "url": url, "id": silence_id}
    return HttpDowntime(settings.http_downtime).set(variables(record, **extra))


def extend(settings: Settings, handle: dict[str, Any], record: dict[str, Any],
           extra: dict[str, Any]) -> dict[str, Any]:
    """Move one handle's end to ``record["ends_at"]``; returns the (possibly new) handle.

    The HTTP backend has no generic "extend": a new downtime to the new end is set first,
    then the old one cleared, so there is no gap.
    """
    if handle["backend"] == "alertmanager":
        am = Alertmanager(handle["url"], settings.alertmanager)
        return {**handle, "id": am.extend(handle["id"], record["ends_at"])}
    http = HttpDowntime(settings.http_downtime)
    fresh = http.set(variables(record, **extra))
    http.clear(handle)
    return fresh


def clear(settings: Settings, handle: dict[str, Any], record: dict[str, Any]) -> bool:
    """End one handle's downtime now (and any other silence carrying the record's marker)."""
    if handle["backend"] == "alertmanager":
        am = Alertmanager(handle["url"], settings.alertmanager)
        ended = am.expire(handle["id"])
        for stray in am.find(record["marker"]):
            ended = am.expire(stray["id"]) or ended
        return ended
    return HttpDowntime(settings.http_downtime).clear(handle)


def for_each(handles: list[dict[str, Any]], action: Callable[[dict[str, Any]], Any]) -> list[str]:
    """Apply ``action`` to every handle, collecting errors instead of stopping at the first."""
    errors = []
    for handle in handles:
        try:
            action(handle)
        except MonitoringError as exc:
            errors.append(str(exc))
    return errors
