"""The live tree and its header, rendered into a recording console and compared as text."""

from __future__ import annotations

from cephflow.cli.views.live import LiveView
from cephflow.cli.views.tree import WorkflowTree
from cephflow.engine.state import NodeState, WorkflowState
from tests.cli.golden import golden, render
from tests.cli.samples import T0, drain, node, workflow


def test_fanout_is_one_line_of_counters_expanding_running_and_failed_members():
    snap = drain(total=120, succeeded=37, running=(41, 42), failed=(7,))
    assert render(LiveView(snap, now=T0 + 62, height=30)) == golden("""
        drain-host  ·  3f2a9c1e  ·  failing 1m02s  ·  cluster lab  ·  host=ceph-osd-17
        ━━━━━━━━━━────────────────────  40/124   32%  ETA —
        ✗ drain-host 3f2a9c1e  failing  at drain[osd.7]
        ├── ✓ silence       0.4s
        ├── ✓ check         1.2s
        ├── ✗ drain         37/120 ✓  2 running  1 failed  1m00s
        │   ├── ✗ osd.7     3.0s
        │   │     UnsafeOperation: osd.7 is not ok-to-stop
        │   │       3 pgs would become inactive
        │   │     … 3 more lines: cephflow status 3f2a9c1e5b7d4c2a --step 'drain[osd.7]'
        │   ├── ▶ osd.41    12s  weight 0.40 → 0.30, 3.1% misplaced
        │   └── ▶ osd.42    12s  weight 0.40 → 0.30, 3.1% misplaced
        ├── ○ wait-healthy
        └── ○ unsilence     (finally)
        """)


def test_a_failure_with_a_short_error_needs_no_hint_and_a_long_line_gets_one():
    snap = workflow([node("zap", "ceph.zap", state="failed", started=0, ended=2, error="boom")],
                    state="failed", ended=3, failed_node="zap")
    text = render(WorkflowTree(snap, now=T0 + 9), width=60)
    assert "│" not in text and "└── ✗ zap  2.0s\n      boom\n" in text
    assert "--step" not in text
    snap.nodes["zap"].error = "x" * 200
    text = render(WorkflowTree(snap, now=T0 + 9), width=70)
    assert text.splitlines()[2] == "      " + "x" * 63 + "…"
    assert text.splitlines()[3] == "      … full error: cephflow status 3f2a9c1e5b7d4c2a --step zap"


def test_a_small_terminal_gets_summaries_and_keeps_the_failure():
    snap = drain(total=120, succeeded=37, running=(41, 42), failed=(7,))
    text = render(LiveView(snap, now=T0 + 62, height=9))
    assert text == golden("""
        drain-host  ·  3f2a9c1e  ·  failing 1m02s  ·  cluster lab  ·  host=ceph-osd-17
        ━━━━━━━━━━────────────────────  40/124   32%  ETA —
        ✗ drain-host 3f2a9c1e  failing  at drain[osd.7]
        ├── … 2 more steps (2 ✓)
        ├── ✗ drain      37/120 ✓  2 running  1 failed  1m00s
        │   ├── ✗ osd.7  3.0s
        │   │     UnsafeOperation: osd.7 is not ok-to-stop
        └── … 4 more steps (2 ○ 2 ▶)
        """)


def test_every_height_is_respected_and_every_line_is_one_row():
    snap = drain(total=300, succeeded=100, running=tuple(range(150, 220)), failed=(7, 9))
    for height in range(0, 40):
        lines = render(LiveView(snap, now=T0 + 62, height=height), width=50).splitlines()
        assert len(lines) <= height, height
        assert all(len(line) <= 50 for line in lines)
        if height >= 3:
            assert "at drain[osd.7]" in lines[2]
        if height >= 8:
            assert any("✗ osd.7" in line for line in lines), height
        if height >= 4:
            assert "more step" in lines[-1]


def test_ten_thousand_plain_steps_fit_in_a_screen():
    nodes = [node(f"s{i}", state="succeeded", started=i, ended=i + 1) for i in range(5000)]
    nodes += [node("s5000", state="running", started=5000, detail="half way")]
    nodes += [node(f"s{i}") for i in range(5001, 10_000)]
    text = render(WorkflowTree(workflow(nodes), now=T0 + 5003, height=6))
    assert text == golden("""
        ▶ drain-host 3f2a9c1e  running
        ├── … 5000 more steps (5000 ✓)
        ├── ▶ s5000  3.0s  half way
        ├── ○ s5001
        ├── ○ s5002
        └── … 4997 more steps (4997 ○)
        """)


def test_a_waiting_approval_gate_shows_what_to_type():
    nodes = [
        node("check", state="succeeded", started=0, ended=1),
        node("gate", "core.approval", state="running", started=1, detail="asked ops@example.com"),
        node("destroy", "ceph.destroy", after=["gate"]),
    ]
    assert render(WorkflowTree(workflow(nodes), now=T0 + 30, height=10)) == golden("""
        ▶ drain-host 3f2a9c1e  running
        ├── ✓ check    1.0s
        ├── ▶ gate     29s  asked ops@example.com
        │     waiting for approval: cephflow approve 3f2a9c1e5b7d4c2a gate
        └── ○ destroy
        """)


def test_a_gate_that_shows_the_command_itself_is_not_repeated():
    command = "cephflow approve 3f2a9c1e5b7d4c2a gate"
    gate = node("gate", "core.approval", state="running", started=1,
                detail=f"waiting for approval (anyone): {command}")
    lines = render(WorkflowTree(workflow([gate]), now=T0 + 2), width=120).splitlines()
    assert lines[1:] == [f"└── ▶ gate  1.0s  waiting for approval (anyone): {command}"]
    narrow = render(WorkflowTree(workflow([gate]), now=T0 + 2), width=70).splitlines()
    assert narrow[2] == "      waiting for approval: cephflow approve 3f2a9c1e5b7d4c2a gate"


def test_an_approval_gate_inside_a_fanout_is_quoted_for_the_shell():
    nodes = [node("gate[osd.3]", "core.approval", state="running", group="gate", label="osd.3",
                  started=0)]
    text = render(WorkflowTree(workflow(nodes), now=T0 + 1))
    assert "cephflow approve 3f2a9c1e5b7d4c2a 'gate[osd.3]'" in text


def test_a_finished_workflow_collapses_to_one_line_per_step():
    snap = drain(total=120, succeeded=120, running=(), failed=())
    for item in snap.nodes.values():
        if item.state is NodeState.PENDING:
            item.state, item.started_at, item.ended_at = NodeState.SUCCEEDED, T0 + 60, T0 + 70
    snap.state, snap.ended_at = WorkflowState.SUCCEEDED, T0 + 71
    assert render(LiveView(snap, now=T0 + 500, height=20)) == golden("""
        drain-host  ·  3f2a9c1e  ·  succeeded 1m11s  ·  cluster lab  ·  host=ceph-osd-17
        ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━  124/124  100%
        ✓ drain-host 3f2a9c1e  succeeded
        ├── ✓ silence       0.4s
        ├── ✓ check         1.2s
        ├── ✓ drain         120/120 ✓  7.0s
        ├── ✓ wait-healthy  10s
        └── ✓ unsilence     10s  (finally)
        """)


def test_group_counters_name_every_state_present():
    nodes = [node(f"d[{i}]", group="d", state=s) for i, s in
             enumerate(["succeeded", "skipped", "cancelled", "queued", "pending", "succeeded"])]
    text = render(WorkflowTree(workflow(nodes, state="cancelling"), now=T0))
    assert "└── ▶ d  2/6 ✓  1 queued  1 cancelled  1 skipped" in text


def test_an_include_is_a_subtree_that_collapses_once_done_and_keeps_its_finally_on_top():
    def included(node_id: str, **kw):
        item = node(node_id, **kw)
        item.step = node_id.split("[")[0]
        return item

    states = ["succeeded", "running", "pending", "pending"]
    nodes = [
        included("silence.set", state="succeeded", started=0, ended=1),
        included("silence.check", state="succeeded", started=1, ended=2),
        included("drain.check", state="succeeded", started=2, ended=3),
        *[included(f"drain.reweight[osd.{i}]", group="drain.reweight", label=f"osd.{i}",
                   state=s, started=None if s == "pending" else 3,
                   ended=9 if s == "succeeded" else None,
                   detail="weight 0.2" if s == "running" else None)
          for i, s in enumerate(states)],
        included("drain.wait"),
        node("report"),
        included("drain.unset", cleanup=True),
    ]
    assert render(WorkflowTree(workflow(nodes), now=T0 + 20, height=20)) == golden("""
        ▶ drain-host 3f2a9c1e  running
        ├── ✓ silence        2/2 ✓  2.0s
        ├── ▶ drain          2/6 ✓  1 running  18s
        │   ├── ✓ check      1.0s
        │   ├── ▶ reweight   1/4 ✓  1 running  17s
        │   │   └── ▶ osd.1  17s  weight 0.2
        │   └── ○ wait
        ├── ○ report
        └── ○ drain.unset    (finally)
        """)


def test_the_compilers_barrier_between_two_fanouts_is_not_a_step_of_the_tree_or_its_count():
    # drain × 2 -> barrier drain[*] (core.noop) -> wait × 2, as the compiler builds it
    nodes = [
        *[node(f"drain[osd.{i}]", "ceph.reweight", group="drain", label=f"osd.{i}",
               state="succeeded", started=0, ended=4) for i in range(2)],
        node("drain[*]", "core.noop", after=["drain[osd.0]", "drain[osd.1]"], state="succeeded",
             started=4, ended=4),
        *[node(f"wait[osd.{i}]", "ceph.wait_healthy", group="wait", label=f"osd.{i}",
               after=["drain[*]"], state=s, started=4)
          for i, s in enumerate(["running", "queued"])],
        node("report", after=["wait[osd.0]", "wait[osd.1]"]),
    ]
    snap = workflow(nodes)
    assert render(LiveView(snap, now=T0 + 10, height=12), width=70) == golden("""
        drain-host  ·  3f2a9c1e  ·  running 10s  ·  cluster lab  ·  host=ceph…
        ━━━━━━━━━━━━──────────────────  2/5   40%  ETA —
        ▶ drain-host 3f2a9c1e  running
        ├── ✓ drain      2/2 ✓  4.0s
        ├── ▶ wait       0/2 ✓  1 running  1 queued  6.0s
        │   └── ▶ osd.0  6.0s
        └── ○ report
        """)


def test_a_barriers_events_print_no_line():
    from cephflow.cli.views.event_line import event_line
    from cephflow.engine.state import Event, EventType

    nodes = [node("drain[*]", "core.noop", state="succeeded", started=4, ended=4),
             node("report", state="succeeded", started=4, ended=5)]
    snap = workflow(nodes)
    ended = Event(id="9-0", ts=T0 + 4, type=EventType.NODE_STATE, node="drain[*]",
                  state="succeeded")
    assert event_line(ended, snap) is None
    ended.node = "report"
    assert str(event_line(ended, snap)) == "2027-01-15T08:00:04Z  report  succeeded  1.0s"


def test_a_step_no_worker_takes_says_so_once_it_has_waited_a_lease():
    waiting = node("healthy", "ceph.wait_healthy", state="queued")
    waiting.queued_since = T0 + 5
    snap = workflow([node("silence", state="succeeded", started=0, ended=1), waiting])
    assert "no worker has run this step for 95 s (is a worker running?)" in render(
        WorkflowTree(snap, now=T0 + 100))
    assert "no worker" not in render(WorkflowTree(snap, now=T0 + 30))  # a moment is normal
    waiting.state = NodeState.RUNNING
    assert "no worker" not in render(WorkflowTree(snap, now=T0 + 100))
