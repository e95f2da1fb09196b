"""The plan view as a golden string: fan-outs grouped, destructive and skipped nodes marked,
approval gates, barriers hidden, secrets redacted, brackets in ids printed as themselves."""

from __future__ import annotations

import io
import os

from rich.console import Console

from cephflow.cli.views.plan import render_plan
from cephflow.runbook.compiler import Compiler
from tests.runbook import support

GOLDEN = support.GOLDEN / "example-full.plan.txt"


def render(dag, **options) -> str:
    console = Console(color_system=None, width=110, record=True, file=io.StringIO())
    console.print(render_plan(dag, catalog=support.catalog(), cluster="lab", **options))
    return console.export_text()


def compiled(params=None):
    compiler = Compiler(catalog=support.catalog(), lookups=support.lookups(), search_path=[])
    return compiler.compile(compiler.load(support.EXAMPLES / "full.yaml"),
                            params or {"host": "node2"})


def test_plan_of_the_full_example_matches_golden():
    text = render(compiled().redacted())
    if os.environ.get("CEPHFLOW_REGEN_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    assert "s3cr3t-pw" not in text
    assert "zap × 3  test.zap  1 skipped ⚠ destructive  after: drain[*]" in text
    assert "[osd.21]  skipped (when is false)" in text
    assert "approve-drain  core.approval ⏸ approval" in text
    assert "drain[*]  core.noop" not in text  # the barrier is not drawn


def test_large_fan_outs_are_cut_unless_all(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("name: big\nsteps:\n  - id: w\n    task: core.log\n"
                    "    foreach: \"{{ range(30) | list }}\"\n    with: {message: \"m{{ item }}\"}\n")
    compiler = Compiler(catalog=support.catalog(), lookups={}, search_path=[])
    dag = compiler.compile(compiler.load(path), {})
    short = render(dag)
    assert "[9] message=\"m9\"" in short and "[10]" not in short
    assert "… and 20 more (--all shows every node, --json the whole DAG)" in short
    full = render(dag, full=True)
    assert "[29] message=\"m29\"" in full and "more" not in full


def test_the_step_count_leaves_the_barrier_out_as_the_plan_does():
    from cephflow.runbook.barrier import is_barrier, step_count

    dag = compiled()
    barriers = [n.id for n in dag.nodes if is_barrier(n)]
    assert barriers == ["drain[*]", "zap[*]"]
    assert step_count(dag.nodes) == len(dag.nodes) - 2
    assert f"{step_count(dag.nodes)} steps" in render(dag.redacted())


def test_plan_says_what_is_decided_at_run_time(tmp_path):
    path = tmp_path / "late.yaml"
    path.write_text("""\
name: late
params:
  host: {type: str, default: node1}
steps:
  - id: facts
    task: core.echo
    with: {value: {device: /dev/sdb}}
  - id: zap
    task: test.zap
    after: facts
    if: steps.facts.output.up
    with: {host: "{{ host }}", device: "{{ steps.facts.output.device }}"}
  - id: drain
    task: test.reweight
    needs: zap
    foreach: "{{ steps.facts.output.osds }}"
    as: osd
    concurrency: 2
    with: {osd: "{{ osd }}", step: 0.5}
""")
    compiler = Compiler(catalog=support.catalog(), lookups={}, search_path=[])
    text = render(compiler.compile(compiler.load(path), {}).redacted())
    assert [line.rstrip() for line in text.splitlines()[2:]] == [
        "├── facts  core.echo value={\"device\": \"/dev/sdb\"}",
        "├── zap  test.zap ⚠ destructive  after: facts  runs if steps.facts.output.up "
        "host=\"node1\" device={{",
        "│   steps.facts.output.device }} (decided at run time)",
        "└── drain  test.reweight  fan-out over the output of facts (decided at run time)  "
        "(2 at a time)  after: zap",
        "    needs zap step=0.5 osd={{ osd }} (decided at run time)",
    ]
