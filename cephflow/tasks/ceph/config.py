"""Values in the mon config DB, set and put back only by the workflow that set them.

Before it changes ``WHO OPTION`` a workflow records, as the fact ``config.<who>.<option>``,
what was there before: the value set at exactly that section (``osd``, ``global``,
``osd.12``), or none. Putting it back restores exactly that, the value or no entry, like the
flags in ``flags.py``: the record is written *before* the change, so a step that dies
half-way still owns it on its retry and the ``finally`` step still puts it back. A value the
operator changed meanwhile is theirs and is left as it is. The fact ``config.owned`` lists
the records, so ``ceph.config_restore`` can put back everything a workflow changed; the steps
that own values (``ceph.config_set``, ``ceph.create_osd_at_zero``) run one at a time.
"""

from __future__ import annotations

import time
from typing import Any

from cephflow.ceph.client import CephClient
from cephflow.engine.context import StepContext
from cephflow.engine.registry import task
from cephflow.tasks.ceph.common import ceph, through_outages

OWNED = "config.owned"
HOLD_SECONDS = 600.0
"""How long ``config_restore`` keeps a value an OSD still needs when it first joins CRUSH."""


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


def own_config(ctx: StepContext, client: CephClient, who: str, option: str, value: str,
               *, until_in_crush: int | None = None) -> dict:
    """Set ``who option value``, recording first what was there so it can be put back.

    ``until_in_crush``: the value is read by that OSD when it first joins CRUSH, so
    ``ceph.config_restore`` keeps it until the OSD is in CRUSH (or gone, or HOLD_SECONDS).
    """
    key = _key(who, option)
    record = ctx.fact(key)
    if not record or record.get("restored"):
        record = {"who": who, "option": option, "value": str(value), "restored": False,
                  "before": explicit_value(client, who, option), "at": time.time(),
                  "until_in_crush": until_in_crush}
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


def _still_needed(client: CephClient, record: dict) -> bool:
    """Whether an OSD that reads the value when it first joins CRUSH has not joined yet."""
    osd = record.get("until_in_crush")
    if osd is None or time.time() - float(record.get("at", 0)) > HOLD_SECONDS:
        return False
    return osd in client.osd_dump().osds and osd not in client.osd_tree().osds


@task("ceph.config_restore", poll=True)
@through_outages
def config_restore(ctx: StepContext, *, who: str | None = None, option: str | None = None) -> dict:
    """Put back config values this workflow set (one ``who``/``option``, or all; for ``finally``).

    A new OSD's ``osd_crush_initial_weight`` is kept until that OSD is in CRUSH: put back
    earlier (a cancel right after the create), the daemon could still start with the
    operator's value and move data at once.
    """
    client = ceph(ctx)
    keys = list(ctx.fact(OWNED) or [])
    done = []
    for key in keys:
        record = ctx.fact(key) or {}
        if not record or (who and record["who"] != who) or (option and record["option"] != option):
            continue
        if not record.get("restored") and _still_needed(client, record):
            ctx.not_yet(f"osd.{record['until_in_crush']} not yet in CRUSH: keeping "
                        f"{record['who']} {record['option']} until it is", countdown=1.0)
        if restore_config(ctx, client, record["who"], record["option"])["restored"]:
            done.append(f"{record['who']} {record['option']}")
    if not done:
        ctx.progress("no config value of this workflow to put back")
    return {"restored": done}
