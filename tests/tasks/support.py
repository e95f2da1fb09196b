"""Helpers of the people tests: settings with quick retries, task contexts on MemoryBackend."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from cephflow.engine.context import MemoryBackend, StepContext
from cephflow.settings import Settings

_ids = itertools.count(1)


def fast(**sections: Any) -> Settings:
    """Settings with quick retries (attempts 3, backoff 10 ms) merged into the given sections."""
    data: dict[str, Any] = {}
    for name, values in sections.items():
        if isinstance(values, dict) and name in ("alertmanager", "http_downtime", "smtp", "webhook"):
            values = {"attempts": 3, "backoff": 0.01, "timeout": 5.0, **values}
        data[name] = values
    return Settings(**data)


def make_ctx(settings: Settings, *, node_id: str = "step", workflow_id: str | None = None,
             backend: MemoryBackend | None = None, **kwargs: Any) -> StepContext:
    """A task context on a MemoryBackend, with a workflow id unique to this test run."""
    return StepContext(
        workflow_id=workflow_id or f"wf-{next(_ids)}-{uuid.uuid4().hex[:8]}",
        node_id=node_id,
        backend=backend or MemoryBackend(),
        settings=settings,
        **kwargs,
    )
