"""The runbook commands: runbooks, runbooks show, validate, plan, run --dry-run / run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cephflow.runbook.compiler import compile_runbook
from tests.runbook import support

CEPHFLOW = Path(sys.executable).parent / "cephflow"

PARAMS_RUNBOOK = """
name: knobs
description: Every kind of param as an option.
params:
  host: {help: The host to drain.}
  dry_run: {type: bool, default: false, help: Only pretend.}
  ids: {type: "list[int]", default: [], help: OSD ids.}
  pause: {type: duration, default: 30s}
  token: {secret: true, help: API token.}
steps:
  - id: show
    task: core.log
    with: {message: "{{ host }} {{ dry_run }} {{ ids }} {{ pause }}"}
  - id: call
    task: core.log
    with: {message: "token={{ token }}"}
"""


@pytest.fixture(scope="module")
def app():
    from cephflow.cli.app import _register_commands
    from cephflow.cli.app import app as typer_app

    if not typer_app.registered_commands and not typer_app.registered_groups:
        _register_commands()
    return typer_app


@pytest.fixture
def cli(app, monkeypatch):
    monkeypatch.chdir(support.REPO)
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None):
        return runner.invoke(app, list(args), env=env)

    return invoke


@pytest.fixture
def knobs(tmp_path) -> Path:
    path = tmp_path / "knobs.yaml"
    path.write_text(PARAMS_RUNBOOK)
    return path


def test_runbooks_lists_names_with_descriptions(cli):
    result = cli("runbooks")
    assert result.exit_code == 0
    line = next(line for line in result.stdout.splitlines() if line.startswith("demo"))
    assert "Fan out over a few items" in line


def test_runbooks_show_lists_params_and_steps(cli):
    result = cli("runbooks", "show", "demo")
    assert result.exit_code == 0, result.output
    assert "--items" in result.stdout and "How many work items" in result.stdout
    assert "gather" in result.stdout and "report" in result.stdout


def test_plan_renders_the_tree_with_concrete_args(cli):
    result = cli("plan", "demo", "--items", "3")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "work × 3" in out and "(2 at a time)" in out
    assert "[item-2] seconds=0.3" in out and "[item-3]" not in out
    assert 'message="all 3 items done"' in out
    assert "after: work[*]" in out
    assert "finally" in out and 'message="demo finished"' in out


def test_plan_json_is_the_dag_and_run_dry_run_prints_the_same(cli):
    plan = cli("plan", "demo", "--items", "2", "--json")
    dry = cli("run", "demo", "--items", "2", "--dry-run", "--json")
    assert plan.exit_code == 0 and dry.exit_code == 0
    assert plan.stdout == dry.stdout
    expected = compile_runbook("demo", {"items": 2}).to_json()
    assert plan.stdout.strip() == expected
    assert [n["id"] for n in json.loads(plan.stdout)["nodes"]][:3] == ["start", "work[item-0]",
                                                                       "work[item-1]"]


def test_plan_and_dry_run_tree_are_the_same(cli):
    assert cli("plan", "demo").stdout == cli("run", "demo", "--dry-run").stdout


def test_run_help_lists_the_runbook_params(cli, knobs):
    result = cli("run", str(knobs), "--help")
    assert result.exit_code == 0
    out = result.stdout
    assert "╭─ Options ─" in out  # rich panels, as every other command's help
    assert "Usage: cephflow run " in out
    assert re.search(r"--host +TEXT +The host to drain\. \[str;", out) and "required]" in out
    assert "--no-dry-run" not in out  # clashes with run's own --dry-run ...
    assert re.search(r"--param-dry-run +--no-param-dry-run", out)  # ... so it is renamed
    assert re.search(r"--ids +INT ", out) and re.search(r"--pause +DURATION ", out)
    assert "CEPHFLOW_PARAM_TOKEN" in out
    assert "--detach" in out and "--quiet" in out


def _option_rows(text: str) -> dict[str, str]:
    """``--flag`` -> its help row, whitespace squeezed, from a rich options panel."""
    rows = {}
    for line in text.splitlines():
        match = re.match(r"│ (--[\w-]+)(.*?)│?$", line)
        if match:
            rows[match.group(1)] = " ".join(match.group(2).split())
    return rows


def test_run_help_without_a_runbook_lists_the_run_options_as_run_demo_help_does(cli):
    bare = cli("run", "--help", env={"COLUMNS": "120"})
    demo = cli("run", "demo", "--help", env={"COLUMNS": "120"})
    assert bare.exit_code == 0 and demo.exit_code == 0
    bare_rows, demo_rows = _option_rows(bare.stdout), _option_rows(demo.stdout)
    for flag in ("--dry-run", "--detach", "--json", "--quiet", "--all"):
        assert bare_rows[flag] == demo_rows[flag], flag  # the same row, no type column
    assert bare_rows["--json"] == "Machine-readable output (the DAG's JSON with --dry-run)."


@pytest.mark.parametrize("argv", [
    [], ["run"], ["plan"], ["status"], ["approve"], ["validate"], ["runbooks"], ["runbooks", "show"],
    ["services"], ["lab"], ["run", "demo"], ["plan", "demo"],
])
def test_every_help_shares_one_style_with_uppercase_metavars(cli, argv):
    result = cli(*argv, "--help", env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "╭─ " in result.stdout
    assert not re.search(r"<(bool|str|int|float|path)>", result.stdout, re.IGNORECASE)


def test_options_that_take_a_value_show_an_uppercase_metavar(cli):
    rows = _option_rows(cli("status", "--help", env={"COLUMNS": "120"}).stdout)
    assert rows["--limit"].startswith("-n INT How many")
    assert rows["--json"] == "Print the state as JSON instead."


def test_a_common_option_before_the_runbook_reaches_it(cli):
    before = cli("run", "--dry-run", "--json", "demo", "--items", "2")
    after = cli("run", "demo", "--items", "2", "--dry-run", "--json")
    assert before.exit_code == 0 and before.stdout == after.stdout
    assert json.loads(before.stdout)["params"]["items"] == 2


def test_a_list_param_takes_comma_lists_and_repetition_together(cli, knobs):
    result = cli("plan", str(knobs), "--host", "h", "--token", "t", "--ids", "4,5", "--ids", "6",
                 "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["params"]["ids"] == [4, 5, 6]


def test_a_count_below_its_minimum_is_bad_input(cli):
    result = cli("plan", "demo", "--items", "-3")
    assert result.exit_code == 2
    assert "param 'items': -3 is less than the minimum 1" in result.output
    assert "min 1" in cli("plan", "demo", "--help", env={"COLUMNS": "200"}).stdout


def test_plan_help_lists_the_runbook_params_in_panels(cli):
    result = cli("plan", "demo", "--help")
    assert result.exit_code == 0
    assert "╭─ Options ─" in result.stdout
    assert re.search(r"--items +INT +How many work items", result.stdout)
    assert "--json" in result.stdout and "--detach" not in result.stdout


def test_params_from_options_repetition_flags_and_env(cli, knobs):
    result = cli("plan", str(knobs), "--host", "h7", "--dry-run", "--ids", "4", "--ids", "5",
                 "--pause", "2m", "--json", env={"CEPHFLOW_PARAM_TOKEN": "tok-98765"})
    assert result.exit_code == 0, result.output
    dag = json.loads(result.stdout)
    assert dag["params"] == {"host": "h7", "dry_run": True, "ids": [4, 5], "pause": 120,
                             "token": "**********"}
    assert dag["nodes"][0]["args"] == {"message": "h7 True [4, 5] 120"}
    assert "tok-98765" not in result.output
    tree = cli("plan", str(knobs), "--host", "h7", env={"CEPHFLOW_PARAM_TOKEN": "tok-98765"})
    assert tree.exit_code == 0 and "tok-98765" not in tree.output and "**********" in tree.stdout


def test_bad_param_value_exits_2_without_traceback(cli):
    result = cli("plan", "demo", "--items", "many")
    assert result.exit_code == 2
    assert ("runbooks/demo.yaml:6:3: param 'items': expected an integer, got 'many'"
            in result.stderr)
    assert "Traceback" not in result.output


def test_missing_required_param_and_unknown_option(cli, knobs):
    missing = cli("plan", str(knobs))
    assert missing.exit_code == 2 and "missing param 'host': The host to drain." in missing.stderr
    unknown = cli("plan", "demo", "--itmes", "3")
    assert unknown.exit_code == 2 and "--items" in unknown.output  # click's suggestion


def test_unknown_runbook_suggests_a_name(cli):
    result = cli("plan", "dmeo")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:2] == ["error: no runbook named 'dmeo'",
                                              "hint: did you mean 'demo'?"]


def test_validate_reports_every_problem_of_every_file(cli, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("name: good\nsteps:\n  - id: a\n    task: core.log\n    with: {message: hi}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nsteps:\n  - id: a\n    task: core.lgo\n  - id: b\n"
                   "    task: core.log\n    after: z\n    with: {message: hi}\n")
    result = cli("validate", str(good), str(bad))
    assert result.exit_code == 2
    assert f"ok  {good}" in result.stdout
    assert f"{bad}:4:11: step 'a': unknown task 'core.lgo' (did you mean 'core.log'?)" \
        in result.stderr
    assert f"{bad}:7:12: step 'b': 'after' names no step 'z'" in result.stderr
    assert "1 of 2 runbook(s) have problems" in result.stderr


def test_validate_without_files_checks_the_shipped_runbooks(cli):
    result = cli("validate")
    assert result.exit_code == 0, result.output
    assert "ok  runbooks/demo.yaml" in result.stdout


def test_run_without_dry_run_hands_the_plan_to_launch(cli, monkeypatch):
    calls = []
    fake = types.ModuleType("cephflow.cli.launch")

    def launch(compiled, *, detach, output):
        calls.append((compiled.dag.runbook, len(compiled.dag.nodes), compiled.given, detach,
                       output))
        return 3

    fake.launch = launch
    monkeypatch.setitem(sys.modules, "cephflow.cli.launch", fake)
    result = cli("run", "demo", "--items", "1", "--detach", "--quiet")
    assert result.exit_code == 3
    assert calls == [("demo", 5, {"items": "1"}, True, "quiet")]


def test_runbook_names_complete():
    from cephflow.cli.params import complete_runbook_names

    assert complete_runbook_names("de") == ["demo"]
    assert complete_runbook_names("zzz") == []


def test_real_entry_point_exits_2_with_problems_and_no_traceback():
    broken = support.BROKEN / "cycle.yaml"
    result = subprocess.run([str(CEPHFLOW), "plan", str(broken)], capture_output=True,
                            text=True, cwd=support.REPO, timeout=60)
    assert result.returncode == 2
    assert "dependency cycle: a -> b -> a" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_shell_completion_offers_runbook_names(tmp_path):
    env = {"_CEPHFLOW_COMPLETE": "complete_bash", "COMP_WORDS": "cephflow plan de",
           "COMP_CWORD": "2", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([str(CEPHFLOW)], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=60)
    assert result.returncode == 0
    assert result.stdout.split() == ["demo"]


def test_runbook_dirs_from_settings_are_searched_and_invalid_ones_flagged(cli, tmp_path,
                                                                          monkeypatch):
    from cephflow.settings import get_settings

    (tmp_path / "mine.yaml").write_text(
        "name: mine\ndescription: My own.\nsteps:\n  - id: a\n    task: core.log\n"
        "    with: {message: mine}\n")
    (tmp_path / "wreck.yaml").write_text("name: wreck\nsteps: [\n")
    monkeypatch.setenv("CEPHFLOW_RUNBOOK_DIRS", json.dumps([str(tmp_path)]))
    get_settings.cache_clear()
    listing = cli("runbooks")
    assert listing.exit_code == 0
    lines = {line.split()[0]: line for line in listing.stdout.splitlines() if line.strip()}
    assert "My own." in lines["mine"] and "demo" in lines
    assert "invalid:" in lines["wreck"]
    plan = cli("plan", "mine", "--json")
    assert plan.exit_code == 0 and json.loads(plan.stdout)["nodes"][0]["args"] == {
        "message": "mine"}


def test_plan_json_is_identical_across_processes_and_hash_seeds(tmp_path):
    outputs = set()
    for seed in ("1", "2"):
        env = {"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        result = subprocess.run([str(CEPHFLOW), "plan", "demo", "--items", "5", "--json"],
                                capture_output=True, text=True, env=env, cwd=support.REPO,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_validate_accepts_runbook_names_and_reports_missing_ones(cli):
    result = cli("validate", "demo", "no-such-thing.yaml")
    assert result.exit_code == 2
    assert "ok  runbooks/demo.yaml" in result.stdout
    assert "no-such-thing.yaml: no such file or runbook" in result.stderr
