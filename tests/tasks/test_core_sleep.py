"""``core.sleep``: its countdown never exceeds the wait, it says when it is done, and a
resumed wait (the engine starts the step's clock afresh) waits in full again."""

from __future__ import annotations

import pytest

from cephflow.engine.context import MemoryBackend, NotYet
from cephflow.tasks import core
from tests.tasks.support import fast, make_ctx

T0 = 1_700_000_000.0


@pytest.fixture
def clock():
    """The engine's clock the steps see (``StepContext.clock``): set by each test."""
    return {"t": T0}


def test_the_countdown_of_a_short_wait_never_exceeds_the_wait(clock):
    backend = MemoryBackend()
    ctx = make_ctx(fast(), backend=backend, started_at=T0,
                   clock=lambda: clock["t"])
    clock["t"] = T0 + 0.05
    with pytest.raises(NotYet):
        core.sleep(ctx, seconds=3.6)
    assert backend.progress[-1][2] == "3.5s left of 3.6s"


def test_a_long_wait_counts_whole_seconds_down(clock):
    backend = MemoryBackend()
    ctx = make_ctx(fast(), backend=backend, started_at=T0,
                   clock=lambda: clock["t"])
    clock["t"] = T0 + 4.5
    with pytest.raises(NotYet) as caught:
        core.sleep(ctx, seconds=30)
    assert backend.progress[-1][2] == "25s left of 30s"
    assert caught.value.countdown == 5.0


def test_a_finished_wait_says_so_instead_of_its_last_countdown(clock):
    backend = MemoryBackend()
    ctx = make_ctx(fast(), backend=backend, started_at=T0,
                   clock=lambda: clock["t"])
    clock["t"] = T0 + 10.01
    assert core.sleep(ctx, seconds=10) == {"slept": 10}
    assert backend.progress[-1][2] == "waited 10s"


def test_a_resumed_wait_counts_from_its_new_start_not_an_old_memo(clock):
    backend = MemoryBackend()
    backend.set_node_memo("wf", "wait", "since", T0 - 3600)  # left by an older version
    clock["t"] = T0 + 1
    resumed = make_ctx(fast(), backend=backend, workflow_id="wf", node_id="wait", started_at=T0,
                       clock=lambda: clock["t"])
    with pytest.raises(NotYet):
        core.sleep(resumed, seconds=30)
    assert backend.progress[-1][2] == "29s left of 30s"
