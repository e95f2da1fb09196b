"""Downtime as workflow steps: ``downtime.set``, ``downtime.extend``, ``downtime.clear``.

``downtime.set`` silences the matched alerts on every configured backend (each
Alertmanager of an HA pair, the generic HTTP backend) until a safety-net end time, and
keeps the record as the workflow fact ``downtime:<name>`` (silence ids included) after
each backend, so a failure half-way never loses a silence. ``downtime.clear`` belongs in
the runbook's ``finally``: it expires them whatever the workflow's end.

A workflow that runs longer than planned keeps its downtime alive in two ways: an explicit
``downtime.extend`` step before a long phase, and ``keep_alive(ctx)``, which waiting steps
call on each check (the approval gate does): when a downtime would end within
``alertmanager.extend_margin`` it is pushed out by its original length again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.errors import MonitoringError, StepFailed
from cephflow.monitoring import downtime as dt
from cephflow.monitoring.matchers import normalise, show
from cephflow.monitoring.times import iso, parse_duration
from cephflow.settings import Settings


def fact_key(name: str) -> str:
    """The workflow fact holding the downtime ``name``."""
    return f"downtime:{name}"


def _public(record: dict[str, Any]) -> dict[str, Any]:
    """The record as a step result: ids and times, not the HTTP template variables."""
    handles = [{k: v for k, v in h.items() if k != "vars"} for h in record["handles"]]
    return {"name": record["name"], "ends_at": iso(record["ends_at"]), "silences": handles,
            "matchers": [show(m) for m in record["matchers"]], "cleared": record["cleared"]}


def _extra(ctx: StepContext, record: dict[str, Any]) -> dict[str, Any]:
    return {"workflow_id": ctx.workflow_id, "node_id": ctx.node_id,
            "host": record.get("host"), "marker": record["marker"]}


def extend_record(settings: Settings, record: dict[str, Any], ends_at: float,
                  extra: dict[str, Any], save: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Push a downtime record's end out to ``ends_at`` on every backend (never earlier),
    ``save``-ing the record after each one; returns it. Steps (``_extend``) and a pause
    (``operations/pause.py``, from outside any step) both extend through here."""
    if ends_at <= record["ends_at"]:
        return record
    record = {**record, "ends_at": ends_at, "handles": list(record["handles"])}
    for i, handle in enumerate(record["handles"]):
        record["handles"][i] = dt.extend(settings, handle, record, extra)
        save(record)
    return record


@task("downtime.set", redo_on_resume=True)
def downtime_set(
    ctx: StepContext,
    *,
    matchers: list[str],
    duration: float | str | None = None,
    comment: str = "",
    name: str = "default",
    host: str | None = None,
    backends: list[str] | None = None,
) -> dict[str, Any]:
    """Silence the matched alerts on every configured monitoring backend until a safety-net end.

    ``matchers``: ``instance=~"{{ host }}.*"``, ``ceph_daemon="osd.4"``, ...; ``duration``
    (``90m``, ``4h``; default ``alertmanager.default_duration``) is the safety net: the
    downtime lapses by itself if nothing clears it. ``name`` tells several downtimes of one
    workflow apart; ``backends`` limits them (``alertmanager``, ``http``).
    """
    settings = ctx.settings
    try:
        parsed = normalise(matchers)
        seconds = parse_duration(duration if duration is not None else settings.alertmanager.default_duration)
        plan = dt.targets(settings, backends)
    except MonitoringError as exc:
        raise StepFailed(str(exc)) from exc

    key = fact_key(name)
    record = ctx.fact(key)
    if record and not record.get("cleared") and record.get("set_by") != ctx.node_id:
        raise StepFailed(f"downtime {name!r} is already set by step {record.get('set_by')}; "
                         "give this one another name")
    if not record or record.get("cleared") or record.get("set_by") != ctx.node_id:
        now = time.time()
        tag = dt.marker(ctx.workflow_id, name)
        text = comment or "maintenance"
        record = {
            "name": name, "marker": tag, "matchers": parsed, "host": host,
            "comment": f"cephflow workflow {ctx.workflow_id} step {ctx.node_id}: {text} [{tag}]",
            "creator": settings.alertmanager.creator,
            "starts_at": now, "ends_at": now + seconds, "duration": seconds,
            "set_by": ctx.node_id, "cleared": False, "handles": [],
        }
    done = {(h["backend"], h.get("url")) for h in record["handles"]}
    for backend, url in plan:
        if (backend, url) in done:
            continue
        handle = dt.set_on(settings, record, backend, url, _extra(ctx, record))
        record["handles"].append(handle)
        ctx.set_fact(key, record)
        where = url or backend
        ctx.progress(f"downtime {name!r} set on {where} until {iso(record['ends_at'])}",
                     backend=backend, id=handle.get("id"))
    ctx.set_fact(key, record)
    return _public(record)


@task("downtime.extend")
def downtime_extend(
    ctx: StepContext, *, name: str = "default", duration: float | str | None = None
) -> dict[str, Any]:
    """Push the downtime's end to ``duration`` from now (default: its original length); never earlier."""
    record = ctx.fact(fact_key(name))
    if not record or record.get("cleared"):
        raise StepFailed(f"no downtime {name!r} to extend (set it with downtime.set first)")
    try:
        seconds = parse_duration(duration) if duration is not None else record["duration"]
    except MonitoringError as exc:
        raise StepFailed(str(exc)) from exc
    return _public(_extend(ctx, record, time.time() + seconds))


def _extend(ctx: StepContext, record: dict[str, Any], ends_at: float) -> dict[str, Any]:
    if ends_at <= record["ends_at"]:
        return record
    record = extend_record(ctx.settings, record, ends_at, _extra(ctx, record),
                           lambda r: ctx.set_fact(fact_key(r["name"]), r))
    ctx.progress(f"downtime {record['name']!r} extended until {iso(ends_at)}")
    return record


def keep_alive(ctx: StepContext, names: Sequence[str] = ("default",)) -> None:
    """Extend each named downtime that would end within the margin; for waiting steps.

    Cheap when nothing is due (one fact read per name). Failures are reported as progress,
    not raised: the waiting step's own job matters more, and the next check tries again.
    """
    margin = ctx.settings.alertmanager.extend_margin
    now = time.time()
    for name in names:
        record = ctx.fact(fact_key(name))
        if not record or record.get("cleared") or record["ends_at"] - now > margin:
            continue
        try:
            _extend(ctx, record, now + max(record["duration"], 2 * margin))
        except MonitoringError as exc:
            ctx.progress(f"could not extend downtime {name!r}: {exc}")


@task("downtime.clear")
def downtime_clear(ctx: StepContext, *, name: str = "default") -> dict[str, Any]:
    """Expire the downtime now (meant for ``finally``: runs after success, failure or cancel)."""
    key = fact_key(name)
    record = ctx.fact(key)
    if not record:
        ctx.progress(f"no downtime {name!r} was set: nothing to clear")
        return {"name": name, "cleared": []}
    remaining, cleared, errors = [], list(record.get("cleared_handles", [])), []
    for handle in record["handles"]:
        try:
            dt.clear(ctx.settings, handle, record)
        except MonitoringError as exc:
            errors.append(str(exc))
            remaining.append(handle)
        else:
            cleared.append({k: v for k, v in handle.items() if k != "vars"})
    record = {**record, "handles": remaining, "cleared_handles": cleared,
              "cleared": not remaining, "cleared_at": time.time()}
    ctx.set_fact(key, record)
    if errors:
        raise MonitoringError(f"downtime {name!r}: {len(errors)} not cleared: " + "; ".join(errors))
    ctx.progress(f"downtime {name!r} cleared ({len(cleared)} silences expired)")
    return {"name": name, "cleared": cleared}
