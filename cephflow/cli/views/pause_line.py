"""How a pause reads wherever a workflow is shown: ``paused by alice at 2026-12-03 07:05:12
UTC: backfill hurts clients``.

``pause_text(pause)`` for the header of the live tree and ``status``; ``pause_event_text``
for the plain follower's line of a pause or unpause. Pure: the same pause, the same words.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cephflow.engine.state import Event, Pause


def pause_text(pause: Pause) -> str:
    """``paused by USER at T: REASON`` (no reason: none said)."""
    at = datetime.fromtimestamp(pause.at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"paused by {pause.by} at {at}" + (f": {pause.reason}" if pause.reason else "")


def pause_event_text(event: Event) -> str:
    """The plain line of a ``workflow_pause`` event: paused by whom and why, or lifted."""
    data = event.data
    if data.get("paused"):
        return pause_text(Pause(by=data.get("by", "?"), at=data.get("at", event.ts),
                                reason=data.get("reason", "")))
    by = data.get("by")
    return f"unpaused by {by}" if by else "pause lifted (the workflow stopped or ended)"
