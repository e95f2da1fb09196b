"""The shipped Ceph runbooks end to end: compiled against the lab, run by real Celery workers
from a real Redis, acting on the real lab cluster (and a real Alertmanager for downtimes).

Order matters and is kept: replace-disk, drain-host refused, reweight with a killed worker,
then drain-host on size-2 pools followed by add-host, which brings the lab back to 6 OSDs;
then add-host refused for an existing host, and add-host of a fourth host cancelled (and
drained again).
"""

from __future__ import annotations

import json
import threading

import pytest

from cephflow.engine.state import WorkflowState
from cephflow.errors import RunbookError
from cephflow.runbook.catalog import LOOKUPS, LookupSpec
from cephflow.runbook.compiler import compile_runbook
from cephflow.tasks import load_all
from tests.fixtures.ceph_flow import ME
from tests.fixtures.services import wait_until
from tests.tasks.ceph.support import FULL, set_pools

pytestmark = [pytest.mark.ceph, pytest.mark.services, pytest.mark.slow,
              pytest.mark.usefixtures("lab_settings")]


def test_replace_disk_end_to_end(flow, ceph_lab, alertmanager):
    client = ceph_lab.client()
    sums = ceph_lab.write_objects("rd", 60)
    serial_before = ceph_lab.client().osd_dump().osds[1].uuid
    wf = flow.submit("replace-disk", osd=1, approvers=[ME], weight_steps=3)
    # the workflow drains, destroys and then waits for the technicians
    wait_until(lambda: flow.client.snapshot(wf).nodes["disk-replaced"].attempt >= 1,
               timeout=120, what="the swap confirmation gate to open")
    dump = client.osd_dump()
    assert dump.osds[1].destroyed and not dump.osds[1].up
    assert "noout" not in dump.flags  # no cluster-wide noout held through the swap gate
    facts = flow.client.get_fact(wf, "osd.1")
    assert facts["host"] == "lab-a" and facts["device"].endswith("/osd/ceph-1")
    assert facts["serial"] and facts["model"] == "memstore (lab)"
    silence = flow.client.get_fact(wf, "downtime:default")["handles"][0]["id"]
    assert alertmanager.state(silence) == "active"
    # the DC technicians were told which disk: host, OSD, device, slot, model, serial
    mails = wait_until(lambda: [m for m in flow.smtp.received
                                if wf in m.message.get_content() and "osd.1" in m.message["Subject"]],
                       timeout=30, what="the technicians' email")
    body = mails[0].message.get_content()
    for fact in ("lab-a", facts["device"], facts["path"], facts["serial"], "memstore (lab)",
                 f"cephflow approve {wf} disk-replaced"):
        assert fact in body
    flow.client.approve(wf, "disk-replaced", user=ME)

    assert flow.client.wait(wf, timeout=180) is WorkflowState.SUCCEEDED
    dump = client.osd_dump()
    assert dump.osds[1].up and dump.osds[1].in_ and not dump.osds[1].destroyed
    assert dump.osds[1].uuid != serial_before  # a new OSD (new disk) with the same id
    assert "noout" not in dump.flags
    assert client.osd_tree().osds[1].crush_weight == pytest.approx(FULL)
    assert client.osd_tree().host_of(1) == "lab-a"
    assert client.health().ok
    assert ceph_lab.read_checksums(sums) == sums
    assert alertmanager.state(silence) == "expired"
    # the drain was gentle: several weight steps down, several up
    assert len([p for p in flow.progress(wf, "drain[osd.1]") if "→" in p]) >= 3
    assert len([p for p in flow.progress(wf, "fill[osd.1]") if "→" in p]) >= 3


def test_drain_host_on_a_size_3_pool_is_refused_before_anything_changes(flow, ceph_lab, alertmanager):
    client = ceph_lab.client()
    epoch = client.epoch()
    # at plan time: nothing is submitted
    load_all()
    with pytest.raises(RunbookError) as refused:
        compile_runbook("drain-host", {"host": "lab-b"})
    assert "pool labpool keeps 3 copies on distinct hosts but only 2 would remain" in str(refused.value)
    # at run time (a plan made when it still fitted): the first step refuses, before the silence
    stale = {**LOOKUPS, "ceph.precheck": LookupSpec(
        name="ceph.precheck", fn=lambda **_: [], params=LOOKUPS["ceph.precheck"].params)}
    wf = flow.client.submit(compile_runbook("drain-host", {"host": "lab-b"}, lookups=stale), user=ME)
    assert flow.client.wait(wf, timeout=120) is WorkflowState.FAILED
    snap = flow.client.snapshot(wf)
    assert snap.failed_node == "precheck"
    assert "pool labpool keeps 3 copies on distinct hosts but only 2 would remain" in snap.error
    for node in ("silence", "drain", "stop", "purge", "remove-host"):
        assert snap.nodes[node].state.value != "succeeded" and snap.nodes[node].attempt == 0
    assert not [n for n in snap.nodes if "[" in n]  # no fan-out was expanded
    assert flow.client.get_fact(wf, "downtime:default") is None  # no silence was ever set
    # nothing changed on the cluster
    assert client.epoch() == epoch
    assert all(o.up for o in client.osd_dump().osds.values())
    assert all(w.crush_weight == pytest.approx(FULL) for w in client.osd_tree().osds.values())


def test_reweight_continues_from_the_clusters_weight_after_a_worker_is_killed(flow, ceph_lab):
    client = ceph_lab.client()
    ceph_lab.write_objects("rw", 200, size=65536)  # enough data for each step to take a moment
    wf = flow.submit("reweight", osd=3, target=0.0, weight_steps=6, max_misplaced=0.0)
    wait_until(lambda: client.osd_tree().osds[3].crush_weight <= FULL * 4 / 6 + 1e-6,
               timeout=120, interval=0.1, what="two reweight steps")
    flow.worker.kill9()
    at_kill = client.osd_tree().osds[3].crush_weight
    assert 0.0 < at_kill < FULL
    steps_before = len([p for p in flow.progress(wf, "reweight") if "→" in p])
    flow.worker = flow.new_worker("ceph-2")
    assert flow.client.wait(wf, timeout=180) is WorkflowState.SUCCEEDED
    assert client.osd_tree().osds[3].crush_weight == 0.0
    changes = [p for p in flow.progress(wf, "reweight") if "→" in p]
    resumed = changes[steps_before:]
    # the first change after the restart starts at the weight the cluster had, not at FULL
    assert resumed and not resumed[0].startswith(f"osd.3 weight {FULL:.5f}")
    assert float(resumed[0].split()[2]) <= at_kill + 1e-5
    assert len(changes) <= 7  # never started over
    # status --json: the step's movement progress, kept in Redis across the worker's death
    movement = json.loads(flow.client.snapshot(wf).model_dump_json())["nodes"]["reweight"][
        "progress"]["movement"]
    assert movement["osds"]["3"]["target"] == 0.0 and movement["osds"]["3"]["weight"] == 0.0
    assert movement["caps"]["max_misplaced"] == 0.0 and movement["caps"]["max_backfilling"] == 20
    assert movement["eta_seconds"] == 0.0 and movement["misplaced_objects"] == 0
    back = flow.submit("reweight", osd=3, target=FULL, weight_steps=2)
    assert flow.client.wait(back, timeout=180) is WorkflowState.SUCCEEDED
    assert client.osd_tree().osds[3].crush_weight == pytest.approx(FULL)


class UpSetWatch:
    """Samples every PG's up set while a workflow runs; notes each PG that gains one of
    ``osds`` it did not hold at the start (data landing on an OSD that drains)."""

    def __init__(self, client, osds: set[int]):
        self.client, self.osds = client, osds
        self.start = {p.pgid: set(p.up) for p in client.pg_ls().pgs}
        self.gained: dict[str, set[int]] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pg in self.client.pg_ls().pgs:
                extra = (set(pg.up) & self.osds) - self.start.get(pg.pgid, set())
                if extra:
                    self.gained.setdefault(pg.pgid, set()).update(extra)
            self.samples += 1
            self._stop.wait(0.2)

    def __enter__(self) -> UpSetWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _operator_config(client) -> list[dict]:
    return sorted((e for e in client.config_dump()), key=lambda e: (e["section"], e["name"],
                                                                     e.get("mask", "")))


def test_drain_host_on_size_2_pools_then_add_it_back(flow, ceph_lab):
    from cephflow.ceph.command import cmd

    client = ceph_lab.client()
    sums = ceph_lab.write_objects("dh", 60)
    set_pools(client, "2", "1")
    # the operator's own initial weight for new OSDs: add-host must leave it as it is
    client.change(cmd("config set", "osd", "osd_crush_initial_weight", "0.5", who="osd",
                      name="osd_crush_initial_weight", value="0.5", readonly=False,
                      json_output=False))
    try:
        ceph_lab.cluster.labctl("wait-clean", "120", timeout=150)
        config = _operator_config(client)
        # a plan made when lab-c had only osd.4: the run acts on the OSDs it has then
        load_all()
        earlier = {**LOOKUPS, "ceph.host_osds": LookupSpec(
            name="ceph.host_osds", params=LOOKUPS["ceph.host_osds"].params,
            fn=lambda **kw: [o for o in LOOKUPS["ceph.host_osds"].fn(**kw) if o["id"] == 4])}
        dag = compile_runbook("drain-host", {"host": "lab-c", "downtime": False,
                                             "weight_steps": 2}, lookups=earlier)
        assert [n.id for n in dag.nodes if n.step == "stop"] == ["stop"]  # decided at run time
        with UpSetWatch(client, {4, 5}) as watch:
            wf = flow.client.submit(dag, user=ME)
            assert flow.client.wait(wf, timeout=240) is WorkflowState.SUCCEEDED, \
                flow.client.snapshot(wf).error
        snap = flow.client.snapshot(wf)
        assert flow.client.output(wf, "facts")["ids"] == [4, 5]
        for step in ("out", "stop", "purge"):
            assert sorted(n for n in snap.nodes if n.startswith(step + "[")) == \
                [f"{step}[osd.4]", f"{step}[osd.5]"]
        # both OSDs of lab-c drained as one batch (ok-to-stop --max), and no PG ever gained
        # osd.4 or osd.5: nothing landed on a sibling that drained next
        drained = flow.progress(wf, "drain")
        assert any("draining osd.4, osd.5 together" in p for p in drained), drained
        assert watch.samples > 5 and watch.gained == {}, (watch.samples, watch.gained)
        tree = client.osd_tree()
        assert "lab-c" not in tree.hosts and 4 not in tree.osds and 5 not in tree.osds
        assert set(client.osd_dump().osds) == {0, 1, 2, 3}
        assert ceph_lab.read_checksums(sums) == sums

        # no --weight: the new OSDs end at their size in TiB (512 MiB memstore = FULL)
        add = flow.submit("add-host", host="lab-c", devices=["disk0", "disk1"], weight_steps=2)
        assert flow.client.wait(add, timeout=240) is WorkflowState.SUCCEEDED, \
            flow.client.snapshot(add).error
        tree = client.osd_tree()
        assert [o.crush_weight for o in tree.osds_of("lab-c")] == [pytest.approx(FULL)] * 2
        # the new OSDs came in at weight 0 (not the operator's 0.5) and were weighted up in steps
        assert len([p for p in flow.progress(add, "fill") if "→ 0.00024" in p]) == 2
        assert _operator_config(client) == config
    finally:
        client.change(cmd("config rm", "osd", "osd_crush_initial_weight", who="osd",
                          name="osd_crush_initial_weight", readonly=False, json_output=False))
        set_pools(client, "3", "2")
    ceph_lab.cluster.labctl("wait-clean", "120", timeout=150)
    assert client.health().ok
    assert ceph_lab.read_checksums(sums) == sums


def test_add_host_of_an_existing_host_is_refused_with_nothing_changed(flow, ceph_lab):
    client = ceph_lab.client()
    epoch, config = client.epoch(), _operator_config(client)
    weights = {i: o.crush_weight for i, o in client.osd_tree().osds.items()}
    # at plan time: the lookup refuses, nothing is submitted
    with pytest.raises(RunbookError) as refused:
        compile_runbook("add-host", {"host": "lab-a", "devices": ["disk9"]})
    assert "lab-a is not a new host: CRUSH host lab-a holds osd.0 weight" in str(refused.value)
    # at run time (the host got OSDs between plan and run): the first step refuses
    load_all()
    stale = {**LOOKUPS, "ceph.new_host": LookupSpec(
        name="ceph.new_host", fn=lambda host: {"host": host, "bucket": False},
        params=LOOKUPS["ceph.new_host"].params)}
    dag = compile_runbook("add-host", {"host": "lab-a", "devices": ["disk9"]}, lookups=stale)
    wf = flow.client.submit(dag, user=ME)
    assert flow.client.wait(wf, timeout=120) is WorkflowState.FAILED
    snap = flow.client.snapshot(wf)
    assert snap.failed_node == "check"
    assert "lab-a is not a new host: CRUSH host lab-a holds osd.0 weight" in snap.error
    assert all(snap.nodes[n].attempt == 0 for n in ("bucket", "create[disk9]", "fill"))
    assert client.epoch() == epoch
    assert _operator_config(client) == config
    assert {i: o.crush_weight for i, o in client.osd_tree().osds.items()} == weights


def test_add_host_cancelled_leaves_the_operators_initial_weight(flow, ceph_lab):
    from cephflow.ceph.command import cmd

    client = ceph_lab.client()
    client.change(cmd("config set", "osd", "osd_crush_initial_weight", "0.5", who="osd",
                      name="osd_crush_initial_weight", value="0.5", readonly=False,
                      json_output=False))
    try:
        config = _operator_config(client)
        wf = flow.submit("add-host", host="lab-d", devices=["disk0"], weight_steps=4)
        wait_until(lambda: flow.client.get_fact(wf, "config.owned"), timeout=120,
                   interval=0.05, what="add-host to set the new OSD's initial weight")
        flow.client.cancel(wf, user=ME)
        assert flow.client.wait(wf, timeout=120) is WorkflowState.CANCELLED
        assert flow.client.snapshot(wf).nodes["restore-config"].state.value == "succeeded"
        assert _operator_config(client) == config
        # the OSD created before the cancel joined CRUSH at 0, not at the operator's 0.5
        (key,) = flow.client.get_fact(wf, "config.owned")
        osd = int(key.split(".")[2])
        tree = wait_until(lambda: (t := client.osd_tree()).host_of(osd) == "lab-d" and t,
                          timeout=60, what=f"osd.{osd} in CRUSH under lab-d")
        assert tree.osds[osd].crush_weight == 0.0
    finally:
        client.change(cmd("config rm", "osd", "osd_crush_initial_weight", who="osd",
                          name="osd_crush_initial_weight", readonly=False, json_output=False))
        # leave the lab as found: lab-d out again
        new = set(client.osd_dump().osds) - {0, 1, 2, 3, 4, 5}
        wait_until(lambda: all(client.osd_tree().host_of(i) == "lab-d" for i in new),
                   timeout=60, what="the new OSDs in CRUSH")
        tree = client.osd_tree()
        if tree.osds_of("lab-d"):
            back = flow.submit("drain-host", host="lab-d", downtime=False, weight_steps=1)
            assert flow.client.wait(back, timeout=240) is WorkflowState.SUCCEEDED, \
                flow.client.snapshot(back).error
        elif "lab-d" in tree.hosts:
            client.crush_remove("lab-d")
    assert set(client.osd_dump().osds) == {0, 1, 2, 3, 4, 5}
    ceph_lab.cluster.labctl("wait-clean", "120", timeout=150)
    assert client.health().ok
