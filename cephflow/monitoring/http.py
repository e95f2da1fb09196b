"""One HTTP call to a monitoring system, retried, with failures as ``MonitoringError``."""

from __future__ import annotations

from typing import Any

import httpx

from cephflow.errors import MonitoringError
from cephflow.tries import Tries


class _Busy(Exception):
    """429 or 5xx: a later try may succeed."""


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, (_Busy, httpx.TransportError))


def call(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    label: str,
    attempts: int,
    backoff: float,
    ok_statuses: tuple[int, ...] = (),
    **kwargs: Any,
) -> httpx.Response:
    """``client.request`` with retries on connection trouble, 429 and 5xx.

    ``label`` names the system and the operation in errors ("alertmanager http://h:9093:
    create silence"). A 4xx other than those in ``ok_statuses`` is an error at once.
    """

    def once() -> httpx.Response:
        response = client.request(method, url, **kwargs)
        if response.status_code == 429 or response.status_code >= 500:
            raise _Busy(f"HTTP {response.status_code}: {reason(response)}")
        return response

    tries = Tries(attempts=attempts, backoff=backoff, transient=_transient)
    try:
        response = tries.run(once)
    except (_Busy, httpx.HTTPError) as exc:
        raise MonitoringError(
            f"{label} failed after {tries.count} tries: {type(exc).__name__}: {exc}"
        ) from exc
    if response.status_code >= 400 and response.status_code not in ok_statuses:
        raise MonitoringError(f"{label} refused: HTTP {response.status_code}: {reason(response)}")
    return response


def reason(response: httpx.Response) -> str:
    """A short, single-line account of an HTTP answer."""
    text = " ".join(response.text.split())[:200]
    return text or response.reason_phrase


def json_of(response: httpx.Response, label: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise MonitoringError(f"{label}: the answer is not JSON") from exc
