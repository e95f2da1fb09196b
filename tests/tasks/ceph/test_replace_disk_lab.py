"""Audit of the Ceph issue's plan promise on a real lab: `cephflow plan replace-disk --host lab-b`
shows the OSD ids, weights and devices the cluster has, and a bad ``--host`` is a clean error.

The lab is started and stopped with `cephflow lab up|down` in a private state directory, as an
operator would; the truth is read with the plain `ceph` CLI, not through cephflow's own client.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.redis_server import NAMESPACE
from tests.fixtures.services import require_binary
from tests.paths import CEPHFLOW, REPO

pytestmark = [pytest.mark.ceph, pytest.mark.slow]


class LabCli:
    """The `cephflow` CLI pointed at a lab of its own (state dir), and `ceph` at the same lab."""

    def __init__(self, state: Path):
        self.state = state
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("CEPHFLOW_") and k != "CEPHFLOW_LAB"}
        self.env.update(CEPHFLOW_STATE_DIR=str(state), CEPHFLOW_CONFIG=os.devnull,
                        COLUMNS="250", NO_COLOR="1")

    def run(self, *argv: str, timeout: float = 120, **extra: str):
        return subprocess.run([CEPHFLOW, *argv], env=dict(self.env, **extra), cwd=REPO,
                              capture_output=True, text=True, timeout=timeout)

    def ceph(self, *argv: str):
        conf = self.state / "lab" / "cluster" / "ceph.conf"
        done = subprocess.run(["ceph", "-c", str(conf), *argv, "-f", "json"],
                              capture_output=True, text=True, timeout=60, check=True)
        return json.loads(done.stdout)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    for binary in ("ceph-mon", "ceph-osd", "ceph-mgr", "ceph"):
        require_binary(binary)
    cli = LabCli(tmp_path_factory.mktemp("auditlab") / "state")
    up = cli.run("lab", "up", timeout=180)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield cli
    finally:
        cli.run("services", "stop")
        down = cli.run("lab", "down", timeout=120)
        assert down.returncode == 0, down.stderr


def host_osds(tree: dict, host: str) -> dict[int, float]:
    nodes = {n["id"]: n for n in tree["nodes"]}
    [bucket] = [n for n in tree["nodes"] if n["type"] == "host" and n["name"] == host]
    return {i: nodes[i]["crush_weight"] for i in bucket["children"]}


def test_plan_replace_disk_on_a_host_shows_its_osd_ids_weights_and_devices(lab):
    osds = host_osds(lab.ceph("osd", "tree"), "lab-b")
    assert len(osds) == 2
    nodes = {}
    for osd in osds:  # a healthy host has no failed disk: each disk named by its OSD
        planned = lab.run("plan", "replace-disk", "--host", "lab-b", "--osd", str(osd), "--json")
        assert planned.returncode == 0, planned.stderr
        nodes.update({n["id"]: n for n in json.loads(planned.stdout)["nodes"]})
    for osd, weight in osds.items():
        assert nodes[f"drain[osd.{osd}]"]["args"]["target"] == 0.0
        assert nodes[f"fill[osd.{osd}]"]["args"]["target"] == pytest.approx(weight)
        tell = nodes[f"tell-dc[osd.{osd}]"]["args"]
        assert tell["host"] == "lab-b" and tell["osd"] == osd
        assert tell["device"].endswith(f"/ceph-{osd}") and tell["serial"]
        assert nodes[f"zap[osd.{osd}]"]["args"]["device"] == tell["device"]
    assert not [n for n in nodes if n.startswith("drain[") and int(n[10:-1]) not in osds]

    for osd, weight in osds.items():  # the tree an operator reads
        shown = lab.run("plan", "replace-disk", "--host", "lab-b", "--osd", str(osd))
        assert shown.returncode == 0, shown.stderr
        assert f"[osd.{osd}]" in shown.stdout
        assert f"target={weight!r}" in shown.stdout
        assert f'device="{nodes[f"tell-dc[osd.{osd}]"]["args"]["device"]}"' in shown.stdout


@pytest.mark.parametrize("argv, message", [
    (["replace-disk", "--host", "lab-z"],
     "no CRUSH host named 'lab-z' (hosts: lab-a, lab-b, lab-c)"),
    (["replace-disk", "--host", "lab-b", "--device", "/dev/nope"],
     "no OSD of lab-b sits on /dev/nope"),
    (["drain-host", "--host", "lab-b;reboot"],
     "no CRUSH host named 'lab-b;reboot' (hosts: lab-a, lab-b, lab-c)"),
])
def test_a_bad_host_param_is_a_clean_error_and_run_submits_nothing(lab, redis_server, redis_url,
                                                                   argv, message):
    planned = lab.run("plan", *argv)
    assert planned.returncode == 2
    assert f"runbooks/{argv[0]}.yaml:" in planned.stderr and message in planned.stderr
    assert "Traceback" not in planned.stdout + planned.stderr
    ran = lab.run("run", *argv, CEPHFLOW_REDIS_URL=redis_url, CEPHFLOW_NAMESPACE=NAMESPACE)
    assert ran.returncode == 2 and message in ran.stderr
    assert "submitted" not in ran.stdout
    assert redis_server.client().keys(f"{NAMESPACE}:*") == []


def test_each_replace_step_run_twice_is_safe(lab, monkeypatch):
    """Issue 7: every domain task is idempotent. Each step of a disk replacement runs twice,
    the second time on a fresh context (no memo: a redelivered message on another worker);
    the second run succeeds, changes nothing more, and the data survives."""
    import hashlib

    import rados

    from cephflow.ceph.access import build_client, forget_clients
    from cephflow.settings import Settings, get_settings
    from cephflow.tasks.ceph import discover as ceph_discover
    from cephflow.tasks.ceph import flags as ceph_flags
    from cephflow.tasks.ceph import osd as ceph_osd
    from cephflow.tasks.ceph import wait as ceph_wait
    from cephflow.tasks.ceph import weight as ceph_weight
    from tests.tasks.ceph.support import Runner

    monkeypatch.setenv("CEPHFLOW_STATE_DIR", str(lab.state))
    get_settings.cache_clear()
    forget_clients()
    settings = Settings()
    assert settings.lab
    client = build_client(settings.ceph)
    conf = str(settings.ceph.conf)
    with rados.Rados(conffile=conf) as cluster, cluster.open_ioctx("labpool") as io:
        sums = {}
        for i in range(20):
            data = os.urandom(4096)
            io.write_full(f"audit-{i}", data)
            sums[f"audit-{i}"] = hashlib.sha256(data).hexdigest()

    # two runners of one workflow with separate memories: the second remembers nothing
    first, second = Runner(settings, workflow="wf-a"), Runner(settings, workflow="wf-a")
    osd, info = 5, first.once(ceph_discover.osd_facts, "facts", osd=5)
    second.once(ceph_discover.osd_facts, "facts", osd=osd)
    try:
        for runner in (first, second):
            runner.once(ceph_flags.set_flag, "noout", flag="noout")
        for runner in (first, second):
            runner.poll(ceph_weight.reweight, "drain", osd=osd, target=0.0, steps=1)
        first.poll(ceph_wait.wait_healthy, "drained")
        for runner in (first, second):
            runner.once(ceph_weight.mark_out, "out", osd=osd)
        first.poll(ceph_wait.wait_safe_to_destroy, "safe", osds=[osd])
        for runner in (first, second):
            runner.poll(ceph_osd.stop_osd, "stop", osd=osd)
        epoch = client.epoch()
        for runner in (first, second):
            runner.once(ceph_osd.destroy_osd, "destroy", osd=osd)
        assert client.osd_dump().osds[osd].destroyed
        for runner in (first, second):
            runner.once(ceph_osd.zap, "zap", osd=osd)
        for runner in (first, second):
            assert runner.poll(ceph_osd.create_osd, "create", host=info["host"], osd=osd)["osd"] \
                == osd
        assert set(client.osd_dump().osds) == {0, 1, 2, 3, 4, 5}  # no second new OSD
        assert client.epoch() > epoch
        for runner in (first, second):
            runner.poll(ceph_weight.reweight, "fill", osd=osd, target=info["weight"], steps=1)
        for runner in (first, second):
            runner.once(ceph_weight.mark_in, "in", osd=osd)
    finally:
        first.once(ceph_flags.unset_flag, "unset", flag="noout")
        if "noout" in client.osd_dump().flags:
            client.unset_flag("noout")
    first.poll(ceph_wait.wait_healthy, "healthy")
    dump = client.osd_dump()
    assert dump.osds[osd].up and dump.osds[osd].in_ and not dump.osds[osd].destroyed
    assert client.osd_tree().osds[osd].crush_weight == pytest.approx(info["weight"])
    with rados.Rados(conffile=conf) as cluster, cluster.open_ioctx("labpool") as io:
        assert {n: hashlib.sha256(io.read(n, length=1 << 20)).hexdigest() for n in sums} == sums
    forget_clients()
