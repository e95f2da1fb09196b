"""Every Ceph call has a real deadline (issue 16): librados' ``mgr_command`` ignores its
``timeout`` and, with no mgr, waits for one for good; the watchdog cuts it off at the call's
deadline with ``NoAnswer`` naming the mgr, the CLI's process is killed at the same deadline,
and a waiting step says "mgr unreachable for N s" across its re-sends until Ceph answers.

The fake librados handles block on a ``threading.Event`` that the call itself never sets:
each call is run from a helper thread joined with a bound, so a missing watchdog fails the
test (instead of hanging it) and every wait is measured with ``time.monotonic``.
"""

from __future__ import annotations

import errno
import json
import threading
import time
from typing import Any

import pytest

from cephflow.ceph.backends import CliBackend, RadosBackend
from cephflow.ceph.client import CephClient
from cephflow.ceph.command import cmd
from cephflow.ceph.command_runner import LocalRunner
from cephflow.engine.context import MemoryBackend, NotYet, StepContext
from cephflow.errors import NoAnswer
from cephflow.tasks.ceph import common
from cephflow.tasks.ceph.common import through_outages

DEADLINE = 0.5
BOUND = 5.0
"""How long past the deadline a call may take before the test calls it a hang."""


class Handle:
    """A fake ``rados.Rados``: mon commands answer; mgr commands (and connect, if asked)
    block until ``release`` is set, as librados does with the mgr down."""

    def __init__(self, *, mgr_down: bool = True, connect_hangs: bool = False,
                 mon_ret: int = 0):
        self.release = threading.Event()
        self.shut = threading.Event()
        self.mgr_down = mgr_down
        self.connect_hangs = connect_hangs
        self.mon_ret = mon_ret
        self.timeouts: list[int] = []

    def connect(self, timeout: int = 0) -> None:
        if self.connect_hangs:
            self.release.wait()

    def mon_command(self, body: str, inbuf: bytes, timeout: int = 0) -> tuple[int, bytes, str]:
        self.timeouts.append(timeout)
        if self.mon_ret:
            return self.mon_ret, b"", "timed out"
        return 0, json.dumps({"asked": json.loads(body)["prefix"]}).encode(), ""

    def mgr_command(self, body: str, inbuf: bytes, timeout: int = 0) -> tuple[int, str, str]:
        self.timeouts.append(timeout)  # passed, and ignored: like the real binding
        if self.mgr_down:
            self.release.wait()
        return 0, json.dumps({"asked": json.loads(body)["prefix"]}), ""

    def shutdown(self) -> None:
        self.shut.set()


class Factory:
    """Hands out the given handles in turn, and records the options each was made with."""

    def __init__(self, *handles: Handle):
        self.handles = list(handles)
        self.made: list[Handle] = []
        self.options: list[dict[str, str]] = []

    def __call__(self, conf: str, options: dict[str, str]) -> Handle:
        self.options.append(options)
        self.made.append(self.handles.pop(0))
        return self.made[-1]


def timed(call: Any) -> tuple[float, Any]:
    """(seconds taken, value or exception) of ``call()``, run in a thread joined with a bound."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            outcome["value"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(DEADLINE + BOUND)
    took = time.monotonic() - started
    assert not thread.is_alive(), f"the call hung past its deadline ({took:.1f} s): no watchdog"
    return took, outcome["value"]


def test_a_mgr_command_that_never_returns_is_cut_off_at_its_deadline():
    stuck = Handle()
    backend = RadosBackend(conf="ceph.conf", handle_factory=Factory(stuck))
    try:
        took, raised = timed(lambda: backend.execute(
            cmd("osd ok-to-stop", "0", target="mgr", ids=["0"]), timeout=DEADLINE))
        assert isinstance(raised, NoAnswer), raised
        assert str(raised) == f"ceph mgr did not answer within {DEADLINE:g} s: osd ok-to-stop 0"
        assert raised.who == "mgr" and raised.waited == DEADLINE
        assert DEADLINE <= took < DEADLINE + BOUND, took
    finally:
        stuck.release.set()


def test_after_a_missed_deadline_the_next_call_connects_afresh_and_the_stuck_handle_is_closed():
    stuck, fresh = Handle(), Handle(mgr_down=False)
    factory = Factory(stuck, fresh)
    backend = RadosBackend(conf="ceph.conf", handle_factory=factory)
    try:
        _, raised = timed(lambda: backend.execute(cmd("pg ls", target="mgr"), timeout=DEADLINE))
        assert isinstance(raised, NoAnswer)
        assert not stuck.shut.is_set()  # its call still runs on it
        _, result = timed(lambda: backend.execute(cmd("pg ls", target="mgr"), timeout=DEADLINE))
        assert result.json() == {"asked": "pg ls"}
        assert factory.made == [stuck, fresh]
    finally:
        stuck.release.set()
    assert stuck.shut.wait(BOUND), "the abandoned handle was not closed when its call returned"
    assert not fresh.shut.is_set()


def test_librados_gets_its_own_timeouts_before_it_connects():
    factory = Factory(Handle(mgr_down=False))
    backend = RadosBackend(conf="ceph.conf", connect_timeout=7, command_timeout=20,
                           handle_factory=factory)
    backend.execute(cmd("status"))
    assert factory.options == [{"rados_mon_op_timeout": "20", "rados_osd_op_timeout": "20",
                                "client_mount_timeout": "7"}]


def test_librados_own_timeout_is_no_answer_and_keeps_the_handle():
    handle = Handle(mon_ret=-errno.ETIMEDOUT)
    factory = Factory(handle)
    backend = RadosBackend(conf="ceph.conf", handle_factory=factory)
    with pytest.raises(NoAnswer, match=rf"^ceph mon did not answer within {DEADLINE:g} s: osd dump") as caught:
        backend.execute(cmd("osd dump"), timeout=DEADLINE)
    assert caught.value.who == "mon"
    with pytest.raises(NoAnswer):
        backend.execute(cmd("osd dump"), timeout=DEADLINE)
    assert factory.made == [handle] and not handle.shut.is_set()


def test_a_mgr_command_that_librados_timed_out_drops_its_handle():
    """librados' mgr client keeps a timed-out command with pointers into the finished call:
    only shutting the handle down makes sure a late reply lands nowhere."""
    timed_out, fresh = Handle(mgr_down=False), Handle(mgr_down=False)
    # librados 16.2 hands back +ETIMEDOUT from mgr_command (a mon command gets -ETIMEDOUT)
    timed_out.mgr_command = lambda body, inbuf, timeout=0: (errno.ETIMEDOUT, "", "")
    factory = Factory(timed_out, fresh)
    backend = RadosBackend(conf="ceph.conf", handle_factory=factory)
    with pytest.raises(NoAnswer, match=rf"^ceph mgr did not answer within {DEADLINE:g} s: pg ls"):
        backend.execute(cmd("pg ls", target="mgr"), timeout=DEADLINE)  # its deadline, not 0.50x
    assert timed_out.shut.is_set()
    assert backend.execute(cmd("pg ls", target="mgr")).json() == {"asked": "pg ls"}
    assert factory.made == [timed_out, fresh]


def test_a_connect_that_never_returns_is_cut_off():
    hunting = Handle(connect_hangs=True)
    backend = RadosBackend(conf="ceph.conf", connect_timeout=0.2, handle_factory=Factory(hunting))
    try:
        took, raised = timed(lambda: backend.execute(cmd("status"), timeout=DEADLINE))
        assert isinstance(raised, NoAnswer), raised
        assert raised.who == "mon" and "did not answer within 0.2 s: connect" in str(raised)
        assert took < 0.2 + 1.0 + BOUND
    finally:
        hunting.release.set()
    assert hunting.shut.wait(BOUND), "the handle of an abandoned connect was not closed"


def test_the_cli_is_killed_at_the_deadline_and_names_the_daemon(tmp_path):
    ceph = tmp_path / "ceph"
    ceph.write_text("#!/bin/sh\nexec sleep 60\n")
    ceph.chmod(0o755)
    backend = CliBackend(LocalRunner(), binary=str(ceph))
    took, raised = timed(lambda: backend.execute(cmd("osd df", target="mgr"), timeout=DEADLINE))
    assert isinstance(raised, NoAnswer), raised
    assert str(raised) == f"ceph mgr did not answer within {DEADLINE:g} s: osd df"
    assert took < DEADLINE + BOUND


def test_a_cli_that_reports_a_timeout_is_no_answer(tmp_path):
    ceph = tmp_path / "ceph"
    ceph.write_text("#!/bin/sh\necho 'Error ETIMEDOUT: timed out' >&2\nexit 110\n")
    ceph.chmod(0o755)
    with pytest.raises(NoAnswer, match=r"^ceph mon did not answer .*: health \(Error ETIMEDOUT"):
        CliBackend(LocalRunner(), binary=str(ceph)).execute(cmd("health"), timeout=DEADLINE)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_waiting_step_says_how_long_the_mgr_is_unreachable_across_resends(monkeypatch):
    """The step's memo keeps when the outage began, so each re-send (a new context, maybe on
    another host) counts on from it; the first check that gets through forgets it."""
    stuck, still, back = Handle(), Handle(), Handle(mgr_down=False)
    client = CephClient(RadosBackend(conf="ceph.conf",
                                     handle_factory=Factory(stuck, still, back)),
                        timeout=DEADLINE)
    monkeypatch.setattr(common, "client_for", lambda settings: client)

    @through_outages
    def wait_for_pgs(ctx: StepContext) -> dict:
        return common.ceph(ctx).query(cmd("pg ls", target="mgr"))

    memos, clock = MemoryBackend(), Clock()

    def check() -> tuple[float, Any]:
        ctx = StepContext("wf", "wait", memos, clock=clock)
        return timed(lambda: wait_for_pgs(ctx))

    try:
        _, first = check()
        assert isinstance(first, NotYet), first
        assert first.detail.startswith(f"mgr unreachable for {DEADLINE:.0f} s: ceph mgr did not "
                                       f"answer within {DEADLINE:g} s: pg ls")
        clock.now += 95
        _, second = check()  # the abandoned handle is not asked again: a new one, mgr still down
        assert isinstance(second, NotYet)
        assert second.detail.startswith(f"mgr unreachable for {95 + DEADLINE:.0f} s: ")
    finally:
        stuck.release.set()
        still.release.set()
    _, done = check()
    assert done == {"asked": "pg ls"}
    assert memos.node_memo("wf", "wait").get("unreachable_since") is None


def test_orchestrator_host_work_gets_the_host_command_deadline_and_the_rest_the_call_deadline():
    """``orch daemon add osd`` deploys a daemon on a host: 30 s would cut it off half-way."""
    from cephflow.ceph.command_runner import CommandResult
    from cephflow.ceph.hosts.cephadm import CephadmHosts

    class Recorder:
        def __init__(self) -> None:
            self.timeouts: dict[str, float | None] = {}

        def run(self, argv, *, input=None, timeout=None):
            self.timeouts[" ".join(argv[3:6])] = timeout  # after: ceph --connect-timeout N
            return CommandResult(tuple(argv), 0, '{"epoch": 1, "osds": []}', "")

    rec = Recorder()
    ops = CephadmHosts(CephClient(CliBackend(rec), timeout=30), host_timeout=120)
    ops.stop_osd("h1", 4)
    ops.zap("h1", 4, "/dev/sdc")
    ops.create_osd("h1", "/dev/sdc", 4)
    assert rec.timeouts["orch daemon stop"] == 30
    assert rec.timeouts["orch device zap"] == 120
    assert rec.timeouts["orch daemon add"] == 120
    assert rec.timeouts["osd dump -f"] == 30


@pytest.mark.parametrize("step", ["ok_to_stop", "osd_facts", "discover_host"])
def test_a_step_that_gets_no_answer_is_left_to_its_retry_policy_not_failed(monkeypatch, step):
    """``NoAnswer`` is a ``CephError``; these steps turn Ceph's refusals into ``StepFailed``
    (never retried) but must let an outage through to the engine, which retries it."""
    from cephflow.tasks.ceph import discover, wait

    class Silent:
        name = "silent"

        def execute(self, command, *, timeout=None):
            raise NoAnswer(f"ceph {command.target} did not answer within 30 s: "
                           f"{' '.join(command.words)}", who=command.target, waited=30)

    client = CephClient(Silent())
    monkeypatch.setattr(common, "client_for", lambda settings: client)
    monkeypatch.setattr(common, "hosts_for", lambda settings: None)
    ctx = StepContext("wf", step, MemoryBackend())
    run = {"ok_to_stop": lambda: wait.ok_to_stop(ctx, osds=[0]),
           "osd_facts": lambda: discover.osd_facts(ctx, osd=0),
           "discover_host": lambda: discover.discover_host(ctx, host="h1")}[step]
    with pytest.raises(NoAnswer, match="did not answer within 30 s"):
        run()
    assert ctx.fact("osd.0") is None
