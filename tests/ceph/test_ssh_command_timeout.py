"""Audit of the SSH command timeout (issue 7: "connect and command timeouts"): a command that
hangs on the admin host is cut off after the timeout with a cephflow error, not waited for.
"""

from __future__ import annotations

import time

import pytest

from cephflow.errors import TransportError

pytestmark = pytest.mark.ceph


def test_a_hanging_command_over_ssh_is_cut_off_by_the_command_timeout(sshd):
    runner = sshd.runner(command_timeout=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            runner.run(["sleep", "30"])
        took = time.monotonic() - started
        assert took < 10, took
        assert str(caught.value).startswith("sleep 30 on ")
        assert str(caught.value).endswith("no answer within 1s")
        # the runner still runs commands (a generous limit: the machine may be busy)
        assert runner.run(["echo", "still usable"], timeout=15).stdout.strip() == "still usable"
    finally:
        runner.close()
