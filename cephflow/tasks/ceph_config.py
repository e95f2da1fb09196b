"""Values in the mon config DB, set and put back only by the workflow that set them.

Before it changes ``WHO OPTION`` a workflow records, as the fact ``config.<who>.<option>``,
what was there before: the value set at exactly that section (``osd``, ``global``,
``osd.12``), or none. Putting it back restores exactly that, the value or no entry, like the
flags in ``ceph_flags``: the record is written *before* the change, so a step that dies
half-way still owns it on its retry and the ``finally`` step still puts it back. A value the
operator changed meanwhile is theirs and is left as it is. The fact ``config.owned`` lists
the records, so ``ceph.config_restore`` can put back everything a workflow changed; the steps
that own values (``ceph.config_set``, ``ceph.create_osd_at_zero``) run one at a time.
"""

from __future__ import annotations

from typing import Any

from cephflow.ceph.client import CephClient
from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.tasks.ceph_common import ceph

OWNED = "config.owned"


def _key(who: str, option: str) -> str:
    return f"config.{who}.{option}"


def explicit_value(client: CephClient, who: str, option: str) -> str | None:
    """The value set for ``option`` at exactly the section ``who`` (no mask), or None."""
    for entry in client.config_dump():
        if entry.get("section") == who and entry.get("name") == option and not entry.get("mask"):
            return str(entry.get("value"))
    return None


def _same(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b


def own_config(ctx: StepContext, client: CephClient, who: str, option: str, value: str) -> dict:
    """Set ``who option value``, recording first what was there so it can be put back."""
    key = _key(who, option)
    record = ctx.fact(key)
    if not record or record.get("restored"):
        record = {"who": who, "option": option, "value": str(value), "restored": False,
                  "before": explicit_value(client, who, option)}
        ctx.set_fact(key, record)
        owned = list(ctx.fact(OWNED) or [])
        if key not in owned:
            ctx.set_fact(OWNED, [*owned, key])
    client.config_set(who, option, str(value))
    before = "not set" if record["before"] is None else f"was {record['before']}"
    ctx.progress(f"config {who} {option} = {value} ({before})")
    return record


def restore_config(ctx: StepContext, client: CephClient, who: str, option: str) -> dict[str, Any]:
    """Put back what ``own_config`` found; nothing when this workflow did not set it."""
    key = _key(who, option)
    record = ctx.fact(key)
    if not record or record.get("restored"):
        return {"who": who, "option": option, "restored": False}
    now = explicit_value(client, who, option)
    before = record["before"]
    if not _same(now, record["value"]):
        ctx.progress(f"config {who} {option} was changed by someone else ({now}): left as it is")
    elif before is None:
        client.config_rm(who, option)
        ctx.progress(f"config {who} {option} removed again (it was not set)")
    else:
        client.config_set(who, option, before)
        ctx.progress(f"config {who} {option} back to {before}")
    ctx.set_fact(key, {**record, "restored": True})
    return {"who": who, "option": option, "restored": True, "value": before}


@task("ceph.config_set", redo_on_resume=True)
def config_set(ctx: StepContext, *, who: str, option: str, value: str) -> dict:
    """``ceph config set WHO OPTION VALUE``, owned: ``ceph.config_restore`` puts back the old value.

    Prefer the narrowest ``who`` (``osd.12`` rather than ``osd``): a cluster-wide value
    also reaches whatever else runs meanwhile.
    """
    record = own_config(ctx, ceph(ctx), who, option, str(value))
    return {"who": who, "option": option, "value": str(value), "before": record["before"]}


@task("ceph.config_restore")
def config_restore(ctx: StepContext, *, who: str | None = None, option: str | None = None) -> dict:
    """Put back config values this workflow set (one ``who``/``option``, or all; for ``finally``)."""
    client = ceph(ctx)
    keys = list(ctx.fact(OWNED) or [])
    done = []
    for key in keys:
        record = ctx.fact(key) or {}
        if not record or (who and record["who"] != who) or (option and record["option"] != option):
            continue
        if restore_config(ctx, client, record["who"], record["option"])["restored"]:
            done.append(f"{record['who']} {record['option']}")
    if not done:
        ctx.progress("no config value of this workflow to put back")
    return {"restored": done}
