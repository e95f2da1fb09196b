"""CephClient against the real lab cluster: both backends, and Ceph's quirks handled."""

from __future__ import annotations

import time

import pytest

from cephflow.ceph.backends import CliBackend, RadosBackend
from cephflow.ceph.client import CephClient
from cephflow.ceph.command import cmd
from cephflow.ceph.command_runner import LocalRunner
from cephflow.errors import CephError

pytestmark = [pytest.mark.ceph]


@pytest.fixture(scope="module")
def clients(ceph_lab):
    cli = CephClient(CliBackend(LocalRunner(), conf=ceph_lab.conf))
    rados = RadosBackend(conf=ceph_lab.conf)
    yield cli, CephClient(cli.writer, rados)
    rados.close()


def test_cli_and_librados_give_the_same_answers(clients):
    cli, lib = clients
    assert cli.osd_tree() == lib.osd_tree()
    assert cli.osd_dump().osds.keys() == lib.osd_dump().osds.keys()
    assert cli.crush_rules() == lib.crush_rules()
    assert cli.osd_metadata(3).osd_data == lib.osd_metadata(3).osd_data
    assert cli.ok_to_stop([0, 2]).ok is lib.ok_to_stop([0, 2]).ok is False
    assert lib.ok_to_stop([0, 2]).num_not_ok_pgs == cli.ok_to_stop([0, 2]).num_not_ok_pgs
    assert cli.safe_to_destroy([1]) == lib.safe_to_destroy([1])


def test_librados_is_much_cheaper_for_polling(clients):
    cli, lib = clients
    lib.health()  # open the handle

    def per_call(client, n):
        started = time.perf_counter()
        for _ in range(n):
            client.health()
        return (time.perf_counter() - started) / n

    assert per_call(lib, 20) * 20 < per_call(cli, 3)


def test_ok_to_stop_refuses_to_answer_for_a_missing_osd(clients):
    cli, _ = clients
    # Ceph itself says yes for an OSD that does not exist ...
    raw = cli.run(cmd("osd ok-to-stop", "99", target="mgr", ids=["99"]))
    assert raw.status == 0 and raw.json()["ok_to_stop"] is True
    # ... the client does not pass that on
    with pytest.raises(CephError, match="do not exist"):
        cli.ok_to_stop([99])
    with pytest.raises(CephError, match="do not exist"):
        cli.safe_to_destroy([99])


def test_safe_to_destroy_exits_zero_but_is_read_as_not_safe(clients):
    cli, _ = clients
    raw = cli.run(cmd("osd safe-to-destroy", "0", target="mgr", ids=["0"]))
    assert raw.status == 0  # the quirk
    answer = cli.safe_to_destroy([0])
    assert not answer.is_safe([0]) and answer.active == (0,)
    assert "pgs currently mapped" in cli.safe_to_destroy_explanation([0])
