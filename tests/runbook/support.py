"""A task catalog and lookups of the tests' own, so compiler tests need no Ceph and never
touch the process-wide registry. ``core.*`` specs come from the real core tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from cephflow.runbook.catalog import CATALOG, LookupSpec, TaskSpec, params_from_signature

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BROKEN = HERE / "broken"
GOLDEN = HERE / "golden"
EXAMPLES = HERE / "examples"


def _spec(name: str, fn: Any, *, destructive: bool = False) -> TaskSpec:
    return TaskSpec(name=name, params=params_from_signature(fn, skip_first=True),
                    destructive=destructive)


def reweight(ctx, *, osd: int, weight: float = 0.0, step: float = 0.1) -> None: ...
def zap(ctx, *, host: str, device: str) -> None: ...
def login(ctx, *, user: str, password: SecretStr) -> None: ...
def tag(ctx, *, names: list[str], count: int = 1) -> None: ...


def approval_stand_in(ctx, *, message: str = "Approve to continue.",
                      approvers: list[str] | None = None) -> None: ...


def catalog() -> dict[str, TaskSpec]:
    """core.* from the real tasks, test.* from the stubs above, core.approval if installed."""
    import cephflow.tasks.core  # noqa: F401 - registers core.sleep/log/fail/noop/echo

    result = {k: v for k, v in CATALOG.items() if k in ("core.sleep", "core.log", "core.fail",
                                                             "core.noop", "core.echo")}
    result["core.approval"] = CATALOG.get("core.approval") or _spec("core.approval",
                                                                      approval_stand_in)
    result["test.reweight"] = _spec("test.reweight", reweight)
    result["test.zap"] = _spec("test.zap", zap, destructive=True)
    result["test.login"] = _spec("test.login", login)
    result["test.tag"] = _spec("test.tag", tag)
    return result


def osds_on_host(host: str) -> list[dict[str, Any]]:
    """Three OSDs per host, numbered from the host's trailing digit."""
    base = int(host[-1]) * 10 if host[-1].isdigit() else 0
    return [{"id": base + i, "device": f"/dev/sd{'abc'[i]}"} for i in range(3)]


def boom(reason: str = "no cluster") -> list[int]:
    raise RuntimeError(reason)


def lookups() -> dict[str, LookupSpec]:
    return {
        name: LookupSpec(name=name, fn=fn, params=params_from_signature(fn, skip_first=False))
        for name, fn in (("test.osds_on_host", osds_on_host), ("test.boom", boom))
    }
