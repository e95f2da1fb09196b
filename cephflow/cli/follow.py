"""Follow a workflow until it ends: the live tree on a terminal, plain lines elsewhere.

``follow(client, wf_id, output=...)`` renders what a ``cephflow.operations.follow.Follower``
reads: the workflow's snapshot once, then only its event stream. The live view is redrawn at
a bounded rate whatever the event rate.

Outputs: ``live`` (rich ``Live`` tree), ``plain`` (one timestamped line per event),
``json`` (events as JSON lines), ``quiet`` (only the final outcome); ``live`` on a console
that is not a terminal falls back to ``plain``. ``plain`` and ``json`` start with where the
workflow is (``operations.follow.attached``: its state, counts and waiting gates with their
approve commands), then print each event after the snapshot's last one, so nothing that
happened before the follower attached is lost. The exit status says how the workflow ended:
0 succeeded, 1 failed, 4 cancelled; 130 when the operator detached with Ctrl-C (the workflow
keeps running; the printed hint says how to re-attach).

Redis going away while following is said once and then shown as a status line under the live
tree (one warning line in the other outputs), never as a line per retry; past
``redis_patience`` the command ends with RedisUnreachable (exit status 5).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.text import Text

from cephflow.cli import console as cli_console
from cephflow.cli.outage import SayOnce, StatusLine
from cephflow.cli.views.event_line import attach_line, event_line, gate_line, outcome_line
from cephflow.cli.views.live import LiveView
from cephflow.engine.state import Event, WorkflowState
from cephflow.errors import ExitStatus
from cephflow.hints import status_command
from cephflow.operations.follow import EventSource, Follower, attached

OUTPUTS = ("live", "plain", "json", "quiet")
EXIT_DETACHED = ExitStatus.DETACHED
EXIT_CODES = {
    WorkflowState.SUCCEEDED: ExitStatus.SUCCEEDED,
    WorkflowState.FAILED: ExitStatus.FAILED,
    WorkflowState.CANCELLED: ExitStatus.CANCELLED,
}
FRAME_COST_SHARE = 10
"""Frames are at least this many times their own drawing time apart."""
STREAM_PACE = {"plain": 0.1, "json": 0.1, "quiet": 0.5}
"""Seconds between reads of a caught-up follower that prints lines (live: one frame)."""


def exit_code(state: WorkflowState) -> int:
    return int(EXIT_CODES.get(state, ExitStatus.FAILED))


def follow(
    client: EventSource,
    wf_id: str,
    *,
    output: str,
    console: Console | None = None,
    clock: Callable[[], float] = time.time,
    max_fps: float = 4.0,
    height: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Follow ``wf_id`` until it ends or the operator presses Ctrl-C; returns the exit status.

    Args:
        client: the engine's client.
        wf_id: the full workflow id (resolve prefixes before).
        output: ``live``, ``plain``, ``json`` or ``quiet``.
        console: where to print (default: cephflow's console).
        clock: wall-clock time, for elapsed times and the redraw rate (tests pass a fake).
        max_fps: at most this many redraws of the live view per second.
        height: lines the live view may use (default: the terminal's height less one).
        sleep: how to wait between reads (tests pass one that moves their clock).

    A follower that has caught up with the stream waits a frame (``plain``/``json``: 0.1 s)
    before it reads again, so a busy workflow is read in a few large batches per second
    rather than in thousands of one-event round trips.
    """
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, not {output!r}")
    out = console or cli_console.console
    if output == "live" and not out.is_terminal:
        output = "plain"  # CI, `| tee`, cron: a live view would be a mess of redraws
    from cephflow.operations.workflows import watch_redis  # lazy: see cephflow.cli.commands

    interval = 1.0 / max_fps
    follower: Follower | None = None
    previous = watch_redis(SayOnce())
    try:
        follower = Follower(client, wf_id)
        if output == "live":
            _live(follower, out, _Pacer(clock, sleep, interval), height, watch_redis)
        else:
            _stream(follower, out, _Pacer(clock, sleep, STREAM_PACE[output]), output)
    except KeyboardInterrupt:
        state = f" ({follower.snapshot.state.value})" if follower is not None else ""
        out.print(
            f"detached: workflow {wf_id} keeps running{state}; "
            f"re-attach with: {status_command(wf_id)}",
            highlight=False,
            soft_wrap=True,
        )
        return int(EXIT_DETACHED)
    finally:
        watch_redis(previous)
    if output != "json":
        out.print(outcome_line(follower.snapshot), highlight=False, soft_wrap=True)
    return exit_code(follower.snapshot.state)


class _Pacer:
    """Reads no more often than every ``every`` seconds once the follower has caught up."""

    def __init__(self, clock: Callable[[], float], sleep: Callable[[float], None], every: float):
        self.clock = clock
        self.sleep = sleep
        self.every = every
        self.block_ms = max(int(every * 1000), 1)
        self._read_at = clock()

    def poll(self, follower: Follower, on_event: Callable[[Event], None] | None = None) -> None:
        count = follower.poll(self.block_ms, on_event)
        if count < follower.batch and not follower.done:
            left = self._read_at + self.every - self.clock()
            if left > 0:
                self.sleep(left)
        self._read_at = self.clock()


def _live(follower: Follower, out: Console, pacer: _Pacer, height: int | None,
          watch_redis: Callable[[StatusLine], object]) -> None:
    clock = pacer.clock
    status = StatusLine(lambda: live.update(view(), refresh=True))

    def view() -> RenderableType:
        lines = height if height is not None else max(out.size.height - 1, 4)
        if status.text is None:
            return LiveView(follower.snapshot, now=clock(), height=lines)
        tree = LiveView(follower.snapshot, now=clock(), height=max(lines - 1, 3))
        return Group(tree, Text(status.text, style="yellow", overflow="ellipsis", no_wrap=True))

    live = Live(
        view(),
        console=out,
        auto_refresh=False,
        transient=False,
        redirect_stdout=True,  # a warning printed meanwhile goes above the tree, not through it
        redirect_stderr=True,
        vertical_overflow="crop",
    )
    watch_redis(status)
    with live:
        live.refresh()
        last, gap = clock(), pacer.every
        while not follower.done:
            pacer.poll(follower)
            if follower.done or clock() - last >= gap * 0.8:  # (0.8: a nap may end a bit early)
                started = time.perf_counter()
                live.update(view(), refresh=True)
                cost = time.perf_counter() - started
                # drawing takes at most a tenth of the time, however big the workflow
                gap = max(pacer.every, cost * FRAME_COST_SHARE)
                last = clock()


def _stream(follower: Follower, out: Console, pacer: _Pacer, output: str) -> None:
    # first what is already true (the events after it only say what changes): the state,
    # the counts and every gate that waits, with the command that opens it
    start = attached(follower.snapshot)
    if output == "json":
        out.out(start.model_dump_json(), highlight=False)
    elif output == "plain":
        now = pacer.clock()
        out.print(attach_line(follower.snapshot, now), highlight=False, soft_wrap=True)
        for gate in start.open_gates:
            out.print(gate_line(gate, now), highlight=False, soft_wrap=True)

    def emit(event: Event) -> None:
        if output == "json":
            out.out(event.model_dump_json(), highlight=False)
            return
        line = event_line(event, follower.snapshot)
        if line is not None:
            out.print(line, highlight=False, soft_wrap=True)

    while not follower.done:
        pacer.poll(follower, None if output == "quiet" else emit)
