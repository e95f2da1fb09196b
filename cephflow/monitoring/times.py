"""Durations as runbooks write them and the timestamps Alertmanager speaks."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from cephflow.errors import MonitoringError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_duration(value: float | int | str) -> float:
    """Seconds from ``5400``, ``"5400"``, ``"90m"`` or ``"1h30m"``; must be positive."""
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = value.strip().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            parts = _PART.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise MonitoringError(f"not a duration: {value!r} (e.g. 90m, 2h, 1h30m)") from None
            seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise MonitoringError(f"a downtime must last a positive time, not {value!r}")
    return seconds


def iso(epoch: float) -> str:
    """Epoch seconds as the RFC 3339 UTC timestamp Alertmanager accepts."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch(text: str) -> float:
    """An RFC 3339 timestamp (as Alertmanager returns, nanoseconds allowed) as epoch seconds."""
    cleaned = re.sub(r"(\.\d{6})\d+", r"\1", text.strip()).replace("Z", "+00:00")
    return datetime.fromisoformat(cleaned).timestamp()
