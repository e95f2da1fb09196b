"""A binary answer (``ceph osd getmap``: the OSD map) reaches cephflow byte for byte, locally
and over SSH, as the movement prediction needs it (text decoding would mangle it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cephflow.ceph.backends import CliBackend
from cephflow.ceph.command import cmd
from cephflow.errors import CommandFailed

MAP = Path(__file__).parent / "data" / "movement_osdmap.bin"


def test_a_binary_answer_over_ssh_arrives_unchanged(sshd):
    data = MAP.read_bytes()
    assert b"\x00" in data and any(b > 0x7F for b in data)  # not text
    runner = sshd.runner()
    try:
        result = runner.run_bytes(["cat", str(MAP)], timeout=30)
        assert result.check().stdout == data
        # and through the CLI backend, as `ceph osd getmap` would be run (here: `cat MAP`)
        backend = CliBackend(runner, binary="cat")
        backend.argv = lambda command: ["cat", str(MAP)]  # the ceph words do not apply to cat
        assert backend.fetch_bytes(cmd("osd getmap", json_output=False)).stdout == data
    finally:
        runner.close()


def test_a_failed_binary_read_says_what_failed(sshd):
    runner = sshd.runner()
    try:
        result = runner.run_bytes(["cat", "/no/such/osdmap"], timeout=30)
        assert result.status == 1 and "No such file" in result.stderr
        with pytest.raises(CommandFailed, match="cat /no/such/osdmap exited 1"):
            result.check()
    finally:
        runner.close()
