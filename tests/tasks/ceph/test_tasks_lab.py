"""The ceph.* tasks called directly against the real lab cluster (MemoryBackend context).

Each test leaves the cluster as it found it: all OSDs up and in at their weights, no flags.
"""

from __future__ import annotations

import pytest

from cephflow.engine.context import NotYet
from cephflow.errors import UnsafeOperation
from cephflow.tasks.ceph import discover as ceph_discover
from cephflow.tasks.ceph import flags as ceph_flags
from cephflow.tasks.ceph import osd as ceph_osd
from cephflow.tasks.ceph import wait as ceph_wait
from cephflow.tasks.ceph import weight as ceph_weight
from tests.tasks.ceph.support import Runner

pytestmark = [pytest.mark.ceph]
FULL = 0.00048828125  # the lab OSDs' CRUSH weight (512 MiB)


@pytest.fixture
def run(ceph_lab):
    runner = Runner(ceph_lab.settings())
    yield runner
    # leave the cluster as the next test expects it
    client = ceph_lab.client()
    epoch = client.epoch()
    dump = client.osd_dump()
    for osd in dump.osds.values():
        if not osd.up:
            ceph_lab.cluster.labctl("start-osd", str(osd.id))
    for flag in ("noout", "norebalance"):
        if flag in dump.flags:
            client.unset_flag(flag)
    for osd in dump.osds.values():
        if osd.noout:
            client.rm_noout(osd.id)
        if not osd.in_:
            client.mark_in(osd.id)
    for osd in client.osd_tree().osds.values():
        if abs(osd.crush_weight - FULL) > 1e-6:
            client.crush_reweight(f"osd.{osd.id}", FULL)
    if client.epoch() != epoch or client.pg_ls().not_clean() or not client.health().ok:
        Runner(ceph_lab.settings(), workflow="restore").poll(ceph_wait.wait_healthy, "restore")


def test_discover_host_and_osd_facts(run):
    found = run.once(ceph_discover.discover_host, "d", host="lab-b")
    osds = found["osds"]
    assert found["host"] == "lab-b" and found["ids"] == [o["id"] for o in osds] == [2, 3]
    assert all(o["up"] and o["in"] for o in osds)
    assert all(o["host"] == "lab-b" and o["weight"] == pytest.approx(FULL) for o in osds)
    info = run.once(ceph_discover.osd_facts, "f", osd=3)
    assert info["host"] == "lab-b" and info["device"].endswith("/osd/ceph-3")
    assert info["serial"].startswith("LAB") and info["model"] == "memstore (lab)"
    assert run.backend.facts[(run.workflow, "osd.3")] == info
    assert run.backend.facts[(run.workflow, "host_osds.lab-b")] == osds


def test_lookups_read_the_configured_cluster(ceph_lab, monkeypatch):
    from cephflow.runbook.catalog import LOOKUPS
    from cephflow.settings import get_settings

    for key, value in ceph_lab.env().items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    assert [o["id"] for o in LOOKUPS["ceph.host_osds"].fn(host="lab-c")] == [4, 5]
    assert LOOKUPS["ceph.osd_info"].fn(osd=1)["host"] == "lab-a"
    found = LOOKUPS["ceph.device_osds"].fn(host="lab-a", device=f"{ceph_lab.dir}/osd/ceph-0")
    assert [o["id"] for o in found] == [0]


def test_flags_are_cleared_only_by_their_owner(run, ceph_lab):
    client = ceph_lab.client()
    assert run.once(ceph_flags.set_flag, "set", flag="noout") == {"flag": "noout", "ours": True}
    assert run.once(ceph_flags.set_flag, "set", flag="noout")["ours"] is True  # again: same
    assert "noout" in client.osd_dump().flags
    # our noout does not keep the cluster from being "healthy" for our waits
    done = run.poll(ceph_wait.wait_healthy, "wait")
    assert done["tolerated"] == ["OSDMAP_FLAGS"]
    run.once(ceph_flags.unset_flag, "unset", flag="noout")
    assert "noout" not in client.osd_dump().flags
    # an operator's own flag: another workflow neither claims nor clears it
    client.set_flag("norebalance")
    other = Runner(ceph_lab.settings(), workflow="wf-other")
    assert other.once(ceph_flags.set_flag, "set", flag="norebalance")["ours"] is False
    assert other.once(ceph_flags.unset_flag, "unset", flag="norebalance")["cleared"] is False
    assert "norebalance" in client.osd_dump().flags
    # per-OSD noout
    run.once(ceph_flags.add_noout, "n", osd=4)
    assert client.osd_dump().osds[4].noout
    run.once(ceph_flags.rm_noout, "rn", osd=4)
    assert not client.osd_dump().osds[4].noout


def test_wait_healthy_is_not_fooled_by_the_lagging_status(run, ceph_lab):
    client = ceph_lab.client()
    client.crush_reweight("osd.4", 0.0)
    # right after the change ceph status still shows the old clean state; the wait must not
    with pytest.raises(NotYet):
        run.once(ceph_wait.wait_healthy, "w")
    run.poll(ceph_wait.wait_healthy, "w")
    pgs = client.pg_ls()
    assert not pgs.not_clean() and not [p for p in pgs.pgs if 4 in p.up]


def test_gentle_reweight_steps_and_resumes_from_the_clusters_weight(run, ceph_lab):
    client = ceph_lab.client()
    first = run.ctx("rw")
    # two checks: the first step is made, then the task waits
    with pytest.raises(NotYet):
        ceph_weight.reweight(first, osd=2, target=0.0, steps=4)
    after_one = client.osd_tree().osds[2].crush_weight
    assert 0 < after_one < FULL and after_one == pytest.approx(FULL * 3 / 4, rel=0.05)
    # the worker dies; the node runs again elsewhere without its memo
    fresh = Runner(ceph_lab.settings(), workflow="wf-resumed")
    result = fresh.poll(ceph_weight.reweight, "rw", osd=2, target=0.0, steps=4)
    assert result["weights"] == {"2": 0.0}
    lines = [line for line in fresh.progress("rw") if "→" in line]
    assert lines[0].startswith(f"osd.2 weight {after_one:.5f} →")  # from where the cluster was
    assert client.osd_tree().osds[2].crush_weight == 0.0
    # at the target already: running again changes nothing (no weight step taken; the
    # osdmap epoch is no measure: removing the backfill's pg_temp entries moves it on)
    again = fresh.poll(ceph_weight.reweight, "again", osd=2, target=0.0)
    assert again["weights"] == {"2": 0.0}
    assert not [line for line in fresh.progress("again") if "→" in line], fresh.progress("again")
    assert client.osd_tree().osds[2].crush_weight == 0.0


def test_host_reweight_moves_every_osd_of_the_host(run, ceph_lab):
    run.poll(ceph_weight.reweight, "h", host="lab-c", target=FULL / 2, steps=1)
    tree = ceph_lab.client().osd_tree()
    assert [tree.osds[i].crush_weight for i in (4, 5)] == [pytest.approx(FULL / 2)] * 2


def test_unsafe_stop_is_refused_with_cephs_explanation(run, ceph_lab):
    with pytest.raises(UnsafeOperation, match="unsafe to stop osd"):
        run.once(ceph_wait.ok_to_stop, "ok", osds=[0, 2])
    # one OSD down; stopping one on another host would make PGs inactive
    run.poll(ceph_osd.stop_osd, "stop5", osd=5)
    try:
        with pytest.raises(UnsafeOperation, match="not ok to stop: .*unsafe to stop"):
            run.poll(ceph_osd.stop_osd, "stop3", osd=3)
        assert ceph_lab.cluster.status().daemons["osd.3"] == "running"
        with pytest.raises(UnsafeOperation, match="not safe to destroy"):
            run.once(ceph_osd.destroy_osd, "destroy5", osd=5)
        assert not ceph_lab.client().osd_dump().osds[5].destroyed
        with pytest.raises(UnsafeOperation, match="still up"):
            run.once(ceph_osd.destroy_osd, "destroy3", osd=3)
    finally:
        run.once(ceph_osd.start_osd, "start5", osd=5)


def test_drain_checks(run, ceph_lab):
    with pytest.raises(UnsafeOperation, match="pool labpool keeps 3 copies on distinct hosts but only 2"):
        run.once(ceph_wait.check_drain, "c", host="lab-a")
    assert run.once(ceph_wait.check_drain, "c1", osds=[0])["ok"]
    with pytest.raises(UnsafeOperation, match="still holds osd.0, osd.1"):
        run.once(ceph_osd.remove_host, "rm", host="lab-a")
    # weighting a whole host to 0 on a size-3 pool: Ceph keeps the data where it is and
    # says it is not safe to destroy; the wait fails instead of waiting forever
    ceph_lab.client().crush_reweight("osd.0", 0.0)
    ceph_lab.client().crush_reweight("osd.1", 0.0)
    with pytest.raises(UnsafeOperation, match="pgs currently mapped.*cannot move"):
        run.poll(ceph_wait.wait_safe_to_destroy, "std", osds=[0, 1])


def test_replace_an_osd_keeps_its_id_and_the_data(run, ceph_lab):
    sums = ceph_lab.write_objects("replace", 40)
    client = ceph_lab.client()
    info = run.once(ceph_discover.osd_facts, "facts", osd=1)
    run.once(ceph_flags.set_flag, "noout", flag="noout")
    run.poll(ceph_weight.reweight, "drain", osd=1, target=0.0, steps=1)
    run.poll(ceph_wait.wait_healthy, "drained")
    run.once(ceph_weight.mark_out, "out", osd=1)
    run.poll(ceph_wait.wait_safe_to_destroy, "safe", osds=[1])
    run.poll(ceph_osd.stop_osd, "stop", osd=1)
    run.once(ceph_osd.destroy_osd, "destroy", osd=1)
    assert client.osd_dump().osds[1].destroyed
    run.once(ceph_osd.zap, "zap", osd=1)
    assert not (ceph_lab.dir / "osd" / "ceph-1").exists()
    created = run.poll(ceph_osd.create_osd, "create", host=info["host"], osd=1)
    assert created["osd"] == 1
    run.poll(ceph_weight.reweight, "fill", osd=1, target=info["weight"], steps=1)
    run.once(ceph_flags.unset_flag, "unset", flag="noout")
    run.poll(ceph_wait.wait_healthy, "healthy")
    dump = client.osd_dump()
    assert dump.osds[1].up and dump.osds[1].in_ and not dump.osds[1].destroyed
    assert client.osd_tree().host_of(1) == "lab-a"
    assert client.health().ok
    assert ceph_lab.read_checksums(sums) == sums
    # the new disk has a new serial; the recorded facts keep the old one for the technicians
    assert run.once(ceph_discover.osd_facts, "facts", osd=1) == info


def test_a_wait_waits_through_a_mgr_outage_and_names_it(ceph_lab):
    """librados' mgr_command ignores its timeout: the watchdog cuts the call off, and the wait
    says "mgr unreachable for N s" instead of freezing or failing; it ends once the mgr is back."""
    from cephflow.ceph.access import client_for

    settings = ceph_lab.settings(ceph={"call_timeout": 3.0})
    run = Runner(settings)
    assert client_for(settings).reader.name == "librados"  # the binding that ignores timeouts
    ceph_lab.cluster.labctl("kill-mgr")
    try:
        with pytest.raises(NotYet) as waiting:
            run.once(ceph_wait.wait_healthy, "h")
        assert "mgr unreachable for" in waiting.value.detail
        assert "ceph mgr did not answer within 3 s: " in waiting.value.detail
    finally:
        ceph_lab.cluster.labctl("start-mgr")
    result = run.poll(ceph_wait.wait_healthy, "h", timeout=120)
    assert result["status"] == "HEALTH_OK"
    assert run.ctx("h").memo.get("unreachable_since") is None  # forgotten once through
