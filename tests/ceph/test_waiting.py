"""Why a wait is not over, built from JSON the lab's real Ceph printed (tests/ceph/data)."""

from __future__ import annotations

from cephflow.ceph.models import Health, OsdDump, PgList
from cephflow.ceph.waiting import why_not_healthy, why_not_moving_on
from tests.ceph.test_parsers import load


def dump(name: str) -> OsdDump:
    return OsdDump.from_json(load(name))


def test_peering_pgs_hide_misplacement_and_are_named():
    # right after a reweight: 20 PGs peering report 0 misplaced, 4 PGs that the osdmap
    # already remaps (pg_temp) still show their old active+clean stats
    pgs = PgList.from_json(load("pg_ls_peering.json"))
    osds = dump("osd_dump_pg_temp.json")
    assert pgs.misplaced_ratio == 0.0
    assert {p.pgid for p in pgs.unsettled(osds.pg_temp) if not p.transient} == {"2.f", "2.12", "2.13", "2.1d"}
    why = why_not_moving_on(pgs, osds, ours=(), max_misplaced=0.05)
    assert why.blocking == ("20 PGs peering", "4 PGs remapped by the osdmap not yet in the PG stats")


def test_stale_clean_stats_are_not_trusted_when_the_osdmap_remaps():
    # the stats say all clean, the osdmap (fresh) already has 19 pg_temp entries
    pgs = PgList.from_json(load("pg_ls_clean.json"))
    assert not pgs.unsettled() and len(pgs.unsettled(dump("osd_dump_backfilling.json").pg_temp)) == 19


def test_backfilling_agrees_with_the_osdmap_and_is_held_by_the_cap():
    pgs = PgList.from_json(load("pg_ls_backfilling.json"))
    osds = dump("osd_dump_backfilling.json")
    assert pgs.unsettled(osds.pg_temp) == []
    assert not why_not_moving_on(pgs, osds, ours=(), max_misplaced=0.2)
    why = why_not_moving_on(pgs, osds, ours=(), max_misplaced=0.05)
    assert why.blocking == ("14.6% misplaced (at most 5.0% before a step)",) and why.context == ()


def test_someone_elses_norebalance_is_named_with_its_effect():
    pgs = PgList.from_json(load("pg_ls_norebalance.json"))
    osds = dump("osd_dump_norebalance.json")
    why = why_not_moving_on(pgs, osds, ours=(), max_misplaced=0.01)
    assert why.context == ("norebalance set by someone else: data will not move until it is unset",)
    assert str(why) == (
        "19.0% misplaced (at most 1.0% before a step); "
        "norebalance set by someone else: data will not move until it is unset"
    )
    ours = why_not_moving_on(pgs, osds, ours=("norebalance",), max_misplaced=0.01)
    assert ours.context == ("norebalance set by this workflow: data will not move until it is unset",)
    # wait_healthy: the flag instead of the bare OSDMAP_FLAGS code
    health = Health.from_json(load("health_norebalance.json"))
    healthy = why_not_healthy(pgs, osds, health, ours=(), tolerated=())
    assert "norebalance set by someone else: data will not move until it is unset" in healthy.blocking
    assert not any(r.startswith("OSDMAP_FLAGS") for r in healthy.blocking)
    # while the workflow's own noout makes OSDMAP_FLAGS tolerated, the foreign flag still shows
    hidden = why_not_healthy(pgs, osds, health, ours=("noout",), tolerated=("OSDMAP_FLAGS",))
    assert hidden.context == ("norebalance set by someone else: data will not move until it is unset",)


def test_backfill_toofull_names_the_full_targets_and_health_checks_by_code():
    pgs = PgList.from_json(load("pg_ls_toofull.json"))
    osds = dump("osd_dump_toofull.json")
    why = why_not_moving_on(pgs, osds, ours=(), max_misplaced=0.01)
    # one line per full target (up, not acting), the fullest first
    assert why.context[:2] == ("7 PGs backfill_toofull on osd.5", "2 PGs backfill_toofull on osd.0")
    assert len(why.context) == 5 and why.blocking == ("8.7% misplaced (at most 1.0% before a step)",)
    health = Health.from_json(load("health_toofull.json"))
    healthy = why_not_healthy(pgs, osds, health, ours=(), tolerated=())
    assert "11 PGs active+remapped+backfill_toofull" in healthy.blocking
    assert "OSD_BACKFILLFULL: 5 backfillfull osd(s)" in healthy.blocking
    assert "7 PGs backfill_toofull on osd.5" in healthy.context


def test_a_clean_cluster_has_nothing_to_say():
    pgs = PgList.from_json(load("pg_ls_clean.json"))
    osds = dump("osd_dump.json")
    assert not why_not_moving_on(pgs, osds, ours=(), max_misplaced=0.0)
    assert not why_not_healthy(pgs, osds, Health.from_json(load("health_ok.json")), ours=(), tolerated=())
