"""The parsers on JSON that the lab's real Ceph (16.2.15) printed, captured into data/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cephflow.ceph.models import (
    ClusterStatus,
    CrushRule,
    Health,
    OkToStop,
    OsdDump,
    OsdMetadata,
    OsdTree,
    PgList,
    SafeToDestroy,
    parse_osd_df,
)

DATA = Path(__file__).parent / "data"


def load(name: str):
    return json.loads((DATA / name).read_text())


def test_health_ok_has_no_checks():
    health = Health.from_json(load("health_ok.json"))
    assert health.ok and health.checks == {} and health.blocking() == []


def test_health_warn_with_several_checks_and_details():
    health = Health.from_json(load("health_warn.json"))
    assert health.status == "HEALTH_WARN" and not health.ok
    assert set(health.checks) == {"OSDMAP_FLAGS", "OSD_DOWN", "OSD_FLAGS", "PG_DEGRADED"}
    down = health.checks["OSD_DOWN"]
    assert down.count == 1 and down.details == ("osd.5 (root=default,host=lab-c) is down",)
    assert health.checks["OSD_FLAGS"].details == ("osd.3 has flags noout",)
    assert health.checks["PG_DEGRADED"].details[0].startswith("pg 2.0 is active+undersized")
    # our own noout tolerated: the down OSD and degraded PGs still block
    assert [c.code for c in health.blocking({"OSDMAP_FLAGS", "OSD_FLAGS"})] == ["OSD_DOWN", "PG_DEGRADED"]


def test_health_err_keeps_each_checks_own_severity():
    health = Health.from_json(load("health_err.json"))
    assert health.status == "HEALTH_ERR"
    assert health.checks["OSD_FULL"].severity == "HEALTH_ERR"
    assert health.checks["OSD_DOWN"].severity == "HEALTH_WARN"
    assert health.checks["OSD_FULL"].message == "5 full osd(s)"
    assert "OSD_FULL: 5 full osd(s)" in health.summary()


def test_status_clean_and_recovering():
    ok = ClusterStatus.from_json(load("status_ok.json"))
    assert ok.pgs.all_clean and ok.pgs.num_pgs == 33 and ok.num_osds == 6 == ok.num_up
    assert ok.pgs.misplaced_ratio == 0.0
    busy = ClusterStatus.from_json(load("status_recovering.json"))
    assert not busy.pgs.all_clean
    assert busy.pgs.misplaced_ratio == pytest.approx(0.0759, abs=1e-4)
    assert busy.pgs.by_state["active+undersized+remapped"] == 2
    assert busy.epoch > ok.epoch


def test_status_with_error_health():
    status = ClusterStatus.from_json(load("status_err.json"))
    assert status.health.status == "HEALTH_ERR" and "OSD_FULL" in status.health.checks
    assert status.num_up == 5 and status.num_osds == 6


def test_osd_tree_maps_osds_to_crush_hosts():
    tree = OsdTree.from_json(load("osd_tree.json"))
    assert sorted(tree.hosts) == ["lab-a", "lab-b", "lab-c"]
    assert [o.id for o in tree.osds_of("lab-b")] == [2, 3]
    assert tree.host_of(5) == "lab-c" and tree.host_of(42) is None
    assert tree.osds[0].crush_weight == pytest.approx(0.00048828125)
    assert tree.host_weight("lab-a") == pytest.approx(2 * 0.00048828125)
    assert tree.osds_of("nope") == []


def test_osd_df_skips_buckets():
    df = parse_osd_df(load("osd_df_tree.json"))
    assert sorted(df) == [0, 1, 2, 3, 4, 5]
    assert all(u.kb == 524288 for u in df.values())
    assert parse_osd_df(load("osd_df.json")).keys() == df.keys()


def test_osd_dump_flags_states_and_pools():
    dump = OsdDump.from_json(load("osd_dump.json"))
    assert "sortbitwise" in dump.flags and "noout" not in dump.flags
    assert dump.exists(5) and not dump.exists(99)
    assert dump.osds[0].up and dump.osds[0].in_ and not dump.osds[0].destroyed
    assert dump.pools["labpool"].size == 3 and dump.pools["labpool"].min_size == 2


def test_lab_osd_metadata_has_no_device():
    meta = OsdMetadata.from_json(load("osd_metadata_0.json"))
    assert meta.objectstore == "memstore" and meta.osd_data.endswith("/osd/ceph-0")
    assert meta.device is None and meta.serial is None and meta.rotational is True


def test_bluestore_metadata_gives_device_model_and_serial():
    # the device fields as a bluestore OSD reports them (the lab's memstore has none)
    meta = OsdMetadata.from_json({
        "id": 41, "hostname": "ceph-osd-17", "osd_objectstore": "bluestore",
        "devices": "sdk", "device_ids": "sdk=SEAGATE_ST16000NM002G_ZL2ABC12",
        "device_paths": "sdk=/dev/disk/by-path/pci-0000:3b:00.0-sas-phy10-lun-0",
        "bluestore_bdev_dev_node": "/dev/dm-7", "rotational": "1",
    })
    assert meta.device == "/dev/sdk"
    assert meta.device_path == "/dev/disk/by-path/pci-0000:3b:00.0-sas-phy10-lun-0"
    assert meta.model == "SEAGATE ST16000NM002G" and meta.serial == "ZL2ABC12"


def test_pg_ls_states_epochs_and_misplaced():
    clean = PgList.from_json(load("pg_ls_clean.json"))
    assert len(clean.pgs) == 33 and not clean.not_clean()
    assert clean.misplaced_ratio == 0.0
    epoch = clean.max_reported_epoch
    assert clean.reflects(epoch) and not clean.reflects(epoch + 1)
    assert clean.on_osd(0) and all(0 in p.up or 0 in p.acting for p in clean.on_osd(0))


def test_ok_to_stop_yes_and_no():
    yes = OkToStop.from_json(load("ok_to_stop_ok.json"))
    assert yes.ok and yes.osds == (0,) and yes.num_not_ok_pgs == 0
    stderr = (DATA / "ok_to_stop_not_ok.stderr").read_text()
    no = OkToStop.from_json(load("ok_to_stop_not_ok.json"), stderr)
    assert not no.ok and no.num_not_ok_pgs > 0 and no.bad_become_inactive
    assert no.explanation.startswith("Error EBUSY: unsafe to stop osd(s)")


def test_safe_to_destroy_is_read_from_the_lists_not_the_status():
    active = SafeToDestroy.from_json(load("safe_to_destroy_active.json"))
    assert not active.is_safe([0]) and active.active == (0,)
    assert active.reasons() == ["OSD(s) 0 still have PGs mapped to them"]
    missing = SafeToDestroy.from_json(load("safe_to_destroy_missing_stats.json"))
    assert not missing.is_safe([5]) and "no reported stats" in missing.reasons()[0]
    safe = SafeToDestroy.from_json(load("safe_to_destroy_safe.json"))
    assert safe.is_safe([5]) and not safe.is_safe([5, 4]) and safe.reasons() == []


def test_crush_rule_failure_domain():
    rules = [CrushRule.from_json(r) for r in load("crush_rule_dump.json")]
    assert rules[0].failure_domain == "host" and rules[0].root == "default"
