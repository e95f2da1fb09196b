"""The prechecks' judgement on JSON the lab's real Ceph printed (no cluster needed).

The captures: a healthy 6-OSD lab, and one with osd.5 down, ``noout`` set and per-OSD noout
on osd.3 (``health_warn.json``). Each test changes one thing a wrong rule would misjudge.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from cephflow.ceph.models import CrushRule, Health, OsdDump, OsdTree, PgList, parse_osd_df
from cephflow.ceph.prechecks import ClusterView, Work, evaluate, refusals

DATA = Path(__file__).parent / "data"


def load(name: str):
    return json.loads((DATA / name).read_text())


def view(health: str = "health_ok.json", **changes) -> ClusterView:
    rules = [CrushRule.from_json(r) for r in load("crush_rule_dump.json")]
    base = ClusterView(
        tree=OsdTree.from_json(load("osd_tree.json")),
        dump=OsdDump.from_json(load("osd_dump.json")),
        health=Health.from_json(load(health)),
        pgs=PgList.from_json(load("pg_ls_clean.json")),
        usage=parse_osd_df(load("osd_df.json")),
        rules={r.id: r for r in rules},
    )
    return dataclasses.replace(base, **changes)


def findings(v: ClusterView, work: Work) -> dict[str, object]:
    return {f.check: f for f in evaluate(v, work)}


def test_a_healthy_lab_passes_every_check_and_says_what_it_saw():
    found = findings(view(), Work(leaving={0}))
    assert all(f.ok for f in found.values()), found
    assert "MiB move; osd." in found["capacity"].message and "nearfull 85%" in found["capacity"].message


def test_the_failed_target_explains_its_warnings_but_nothing_else():
    v = view("health_warn.json")
    mine = findings(v, Work(leaving={5}, failed={5}))["health"].message
    # osd.5's OSD_DOWN and PG_DEGRADED are explained; the per-OSD noout on osd.3 is not
    assert "OSD_FLAGS" in mine and "OSD_DOWN" not in mine and "PG_DEGRADED" not in mine
    other = findings(v, Work(leaving={0}, failed={0}))
    assert not other["health"].ok and "OSD_DOWN" in other["health"].message


def test_a_flag_is_refused_unless_this_workflow_set_it_and_force_accepts_it():
    dump = view().dump
    v = view(dump=dataclasses.replace(dump, flags=dump.flags | {"norebalance"}))
    theirs = findings(v, Work(leaving={0}))["flags"]
    assert not theirs.ok and "norebalance set by someone else" in theirs.message
    assert refusals([theirs], force=False) == [theirs] and refusals([theirs], force=True) == []
    assert findings(v, Work(leaving={0}, own_flags={"norebalance"}))["flags"].ok


def test_another_down_osd_refuses_work_elsewhere():
    dump = view().dump
    osds = dict(dump.osds)
    osds[4] = dataclasses.replace(osds[4], up=False)
    v = view(dump=dataclasses.replace(dump, osds=osds))
    assert "osd.4 down and in" in findings(v, Work(leaving={0}))["other OSDs"].message
    assert findings(v, Work(leaving={4}, failed={4}))["other OSDs"].ok


def test_capacity_past_backfillfull_is_refused_even_with_force():
    dump = view().dump
    tight = dataclasses.replace(dump, nearfull_ratio=0.0001, backfillfull_ratio=0.0002)
    found = findings(view(dump=tight), Work(leaving={0}))["capacity"]
    assert not found.ok and not found.forceable and "backfill_toofull" in found.message
    near = dataclasses.replace(dump, nearfull_ratio=0.0001)
    found = findings(view(dump=near), Work(leaving={0}))["capacity"]
    assert not found.ok and found.forceable and "would pass nearfull" in found.message


def test_a_whole_host_of_a_size_3_pool_on_3_hosts_is_refused():
    tree = view().tree
    host = tree.host_of(0)
    leaving = {o.id for o in tree.osds_of(host)}
    found = findings(view(), Work(leaving=leaving))["failure domains"]
    assert not found.ok and not found.forceable
    assert "keeps 3 copies on distinct hosts but only 2 would remain" in found.message
    assert findings(view(), Work(leaving={0}))["failure domains"].ok  # its sibling stays
