"""The plan's data-movement lines: golden text from the ``ceph.movement`` answer a plan carries."""

from __future__ import annotations

import json

from cephflow.cli.views.plan import render_plan
from cephflow.cli.views.prediction import movements, render_movement
from cephflow.runbook.dag import Dag
from tests.cli.golden import golden, render
from tests.runbook import support

ANSWER = json.loads((support.GOLDEN / "drain-host.lookups.json").read_text())["ceph.movement"]


def test_the_movement_lines_name_changes_pgs_bytes_fullest_limits_and_eta():
    assert render(render_movement(ANSWER), width=100) == golden("""
        data movement (predicted from osdmap epoch 48213): osd.40 weight 0, osd.41 weight 0, osd.42 weight 0
          212/4096 PGs change mapping, 2.5 TiB in them, 2.5 TiB to copy
          fullest after: osd.12 74.8% (now 71.2%), osd.18 73.3% (now 70.0%)
          limits: nearfull 85%, backfillfull 90%
          ETA 7h14m at 100.0 MiB/s (the default rate: nothing recovers now)
        """)


def test_osds_past_nearfull_a_measured_rate_and_an_approximation_are_said():
    answer = {**ANSWER, "over_nearfull": [12], "rate_source": "recovery",
              "rate_bytes_per_sec": 52428800, "eta_seconds": 59.6,
              "changes": [{"osd": 2, "weight": None, "out": True},
                          {"osd": 3, "weight": None, "out": True}],
              "approximate": "2 OSDs marked out: predicted as their CRUSH weight going to 0"}
    text = render(render_movement(answer), width=120)
    assert "osd.2 out, osd.3 out" in text
    assert "limits: nearfull 85%, backfillfull 90%; past nearfull after the move: osd.12" in text
    assert "ETA 60s at 50.0 MiB/s (the recovery rate now)" in text
    assert "approximate: 2 OSDs marked out" in text


def test_the_plan_shows_the_movement_under_its_header_and_only_a_movement():
    dag = Dag(runbook="drain-host", source="runbooks/drain-host.yaml",
              description="Drain a host.", params={"host": "h"},
              discovered={"movement": ANSWER, "osds": [{"id": 40}], "note": {"kind": "other"}})
    assert [name for name, _ in movements(dag.discovered)] == ["movement"]
    text = render(render_plan(dag), width=100)
    lines = text.splitlines()
    assert lines[0] == "drain-host — Drain a host."
    assert lines[2].startswith("data movement (predicted from osdmap epoch 48213)")
    assert "212/4096 PGs change mapping" in lines[3]
