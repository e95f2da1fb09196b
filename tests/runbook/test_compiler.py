"""The compiler: params, discover, fan-out/fan-in, when, approval gates, includes, finally,
secrets, ordering and determinism, on a runbook that uses every feature (examples/full.yaml)."""

from __future__ import annotations

import json

import pytest

from cephflow.errors import ParamError, RunbookError
from cephflow.runbook.compiler import Compiler
from cephflow.runbook.dag import REDACTED, Dag
from tests.runbook import support


def compile_text(tmp_path, text: str, params: dict | None = None) -> Dag:
    path = tmp_path / "rb.yaml"
    path.write_text(text)
    compiler = Compiler(catalog=support.catalog(), lookups=support.lookups(),
                        search_path=[tmp_path])
    return compiler.compile(compiler.load(path), params or {})


@pytest.fixture
def full() -> Dag:
    compiler = Compiler(catalog=support.catalog(), lookups=support.lookups(), search_path=[])
    return compiler.compile(compiler.load(support.EXAMPLES / "full.yaml"), {"host": "node2"})


def test_fan_out_ids_args_and_group(full):
    drains = [n for n in full.nodes if n.group == "drain"]
    assert [n.id for n in drains] == ["drain[osd.20]", "drain[osd.21]", "drain[osd.22]"]
    assert [n.args for n in drains] == [{"osd": i, "weight": 0.5} for i in (20, 21, 22)]
    assert all(n.group == "drain" and n.timeout == 1800.0 for n in drains)
    assert drains[0].retry.attempts == 3 and drains[0].retry.backoff == 10
    assert drains[0].retry.max_backoff == 120
    assert full.groups["drain"].concurrency == 2
    assert "nothing" not in full.groups  # an empty fan-out makes no group


def test_approval_gate_sits_between_the_step_and_its_dependencies(full):
    gate = full.node("approve-drain")
    assert gate.task == "core.approval"
    assert gate.args == {"message": "Drain 3 OSDs on node2?"}
    assert gate.after == ["login"]
    assert all(full.node(f"drain[osd.{i}]").after == ["approve-drain"] for i in (20, 21, 22))


def test_fan_in_waits_for_every_member_and_when_skips_per_item(full):
    zaps = {n.id: n for n in full.nodes if n.group == "zap"}
    # a fan-out after a fan-out waits through the barrier drain[*], which waits for all
    assert all(n.after == ["drain[*]"] for n in zaps.values())
    assert full.node("drain[*]").after == ["drain[osd.20]", "drain[osd.21]", "drain[osd.22]"]
    assert [zaps[f"zap[osd.{i}]"].skip for i in (20, 21, 22)] == [False, True, False]


def test_empty_fan_out_passes_its_dependencies_on_and_include_is_prefixed(full):
    # 'nothing' fans out over an empty list; the include after it waits for zap instead.
    wait = full.node("sub.wait")
    assert wait.after == ["zap[*]"]
    assert full.node("zap[*]").after == ["zap[osd.20]", "zap[osd.21]", "zap[osd.22]"]
    assert wait.args == {"seconds": 30.0}  # count = len(osds) = 3 from the include's with:
    assert full.node("sub.tell").after == ["sub.wait"]
    assert full.node("done").after == ["sub.tell"]
    assert full.node("done").skip is True  # mode is gentle
    assert full.locks == ["host:node2", "cluster", "sub:node2"]


def test_finally_nodes_are_cleanup_and_depend_only_on_cleanup(full):
    cleanup = [n for n in full.nodes if n.cleanup]
    assert [n.id for n in cleanup] == ["sub.tidy", "restore", "bye"]
    assert full.node("bye").after == ["restore"]
    assert full.nodes[-3:] == cleanup


def test_nodes_are_in_topological_order(full):
    seen: set[str] = set()
    for node in full.nodes:
        assert set(node.after) <= seen, node.id
        seen.add(node.id)


def test_secrets_are_redacted_in_params_and_views_but_passed_to_tasks(full):
    login = full.node("login")
    assert login.args["password"] == "s3cr3t-pw"
    assert login.secret_args == ["password"]
    assert full.params["password"] == REDACTED
    shown = full.redacted().to_json()
    assert "s3cr3t-pw" not in shown
    assert json.loads(shown)["nodes"][0]["args"]["password"] == REDACTED


def test_secret_value_embedded_in_another_argument_is_marked(tmp_path):
    dag = compile_text(tmp_path, """
name: s
params:
  token: {secret: true}
steps:
  - id: a
    task: core.log
    with: {message: "curl -H 'auth: {{ token }}' x"}
""", {"token": "tok-123456"})
    assert dag.node("a").secret_args == ["message"]
    assert "tok-123456" not in dag.redacted().to_json()


def test_the_dag_keeps_every_secret_value_to_mask_but_never_serialises_them(tmp_path):
    (tmp_path / "inc.yaml").write_text("""
name: inc
params:
  key: {secret: true}
steps:
  - id: b
    task: core.log
    with: {message: "{{ key }}"}
""")
    dag = compile_text(tmp_path, """
name: s
params:
  token: {secret: true}
  unused: {secret: true, default: ""}
steps:
  - id: a
    task: test.login
    with: {user: admin, password: literal-pw}
  - id: inc
    include: inc.yaml
    with: {key: "k-{{ token }}"}
""", {"token": "tok-123456"})
    # the params (the top one and an include's), and what a task types SecretStr
    assert dag.secrets == ["k-tok-123456", "literal-pw", "tok-123456"]
    # the engine's DAG holds the args in clear, never the list; what is printed holds neither
    assert "secrets" not in json.loads(dag.to_json()) and "secrets" not in dag.model_dump()
    assert "secrets=" not in repr(dag)
    shown = dag.redacted()
    assert shown.secrets == []
    for text in (shown.to_json(), repr(shown)):
        assert "tok-123456" not in text and "literal-pw" not in text


def test_same_inputs_give_byte_identical_json():
    def build() -> str:
        compiler = Compiler(catalog=support.catalog(), lookups=support.lookups(),
                            search_path=[])
        loaded = compiler.load(support.EXAMPLES / "full.yaml")
        return compiler.compile(loaded, {"host": "node2"}).to_json()

    first = build()
    assert build() == first
    assert Dag.model_validate_json(first).to_json() == first


def test_native_types_survive_a_single_expression(tmp_path):
    dag = compile_text(tmp_path, """
name: n
params:
  names: {type: "list[str]", default: [a, b]}
  n: {type: int, default: 3}
steps:
  - id: t
    task: test.tag
    with: {names: "{{ names }}", count: "{{ n }}"}
  - id: text
    task: core.log
    with: {message: "{{ n }} items"}
""")
    assert dag.node("t").args == {"names": ["a", "b"], "count": 3}
    assert dag.node("text").args == {"message": "3 items"}


def test_param_coercion_from_command_line_text(tmp_path):
    text = """
name: p
params:
  n: {type: int}
  pause: {type: duration, default: 1h30m}
  flag: {type: bool, default: false}
  ids: {type: "list[int]", default: []}
  mode: {choices: [a, b], default: a}
steps:
  - id: x
    task: core.log
    with: {message: "{{ n }} {{ pause }} {{ flag }} {{ ids }} {{ mode }}"}
"""
    dag = compile_text(tmp_path, text, {"n": "4", "flag": "yes", "ids": ["1", "2"], "mode": "b"})
    assert dag.params == {"n": 4, "pause": 5400, "flag": True, "ids": [1, 2], "mode": "b"}
    with pytest.raises(ParamError) as caught:
        compile_text(tmp_path, text, {"n": "four", "mode": "c", "nn": 1})
    message = str(caught.value)
    assert "unknown param 'nn' (did you mean 'n'?)" in message
    assert "param 'n': expected an integer, got 'four'" in message
    assert "param 'mode': 'c' is not one of 'a', 'b'" in message
    with pytest.raises(ParamError, match="missing param 'n'"):
        compile_text(tmp_path, text, {})


def test_all_problems_of_a_file_are_reported_at_once(tmp_path):
    with pytest.raises(RunbookError) as caught:
        compile_text(tmp_path, """
name: many
steps:
  - id: a
    task: core.lgo
  - id: b
    task: core.log
    after: c
    with: {message: "{{ nope }}"}
""")
    messages = [f"{p.line}:{p.message}" for p in caught.value.problems]
    assert messages == [
        "5:step 'a': unknown task 'core.lgo'",
        "8:step 'b': 'after' names no step 'c'",
        "9:undefined variable 'nope'",
    ]


def test_ten_thousand_node_fan_out_compiles(tmp_path):
    dag = compile_text(tmp_path, """
name: big
steps:
  - id: w
    task: core.sleep
    foreach: "{{ range(10000) | list }}"
    with: {seconds: "{{ item }}"}
  - id: end
    task: core.log
    after: w
    with: {message: end}
""")
    assert len(dag.nodes) == 10001
    assert len(dag.node("end").after) == 10000
    assert dag.nodes[9999].id == "w[9999]"


def test_fan_out_after_fan_out_goes_through_one_barrier(tmp_path):
    dag = compile_text(tmp_path, """
name: two
steps:
  - id: a
    task: core.log
    foreach: [1, 2, 3]
    with: {message: "a{{ item }}"}
  - id: b
    task: core.log
    after: a
    foreach: [x, y]
    with: {message: "b{{ item }}"}
  - id: c
    task: core.log
    after: a
    with: {message: c}
""")
    barrier = dag.node("a[*]")
    assert barrier.task == "core.noop"
    assert barrier.after == ["a[1]", "a[2]", "a[3]"]
    assert dag.node("b[x]").after == dag.node("b[y]").after == ["a[*]"]
    assert dag.node("c").after == ["a[1]", "a[2]", "a[3]"]  # a single node waits directly
    assert sum(len(n.after) for n in dag.nodes) == 3 + 2 + 3


def test_errors_never_echo_a_secret(tmp_path):
    text = """
name: s
params:
  pin: {type: int, secret: true}
  token: {secret: true}
steps:
  - id: a
    task: test.reweight
    with: {osd: "{{ token }}"}
"""
    with pytest.raises(ParamError) as caught:
        compile_text(tmp_path, text, {"pin": "hunter2-pin", "token": "t"})
    assert "hunter2-pin" not in str(caught.value)
    assert "param 'pin': not a valid int (value hidden: secret)" in str(caught.value)
    with pytest.raises(RunbookError) as caught:
        compile_text(tmp_path, text, {"pin": "1", "token": "tok-abcdef"})
    assert "tok-abcdef" not in str(caught.value)
    assert "argument 'osd': not a valid int (value hidden: secret)" in str(caught.value)


def test_a_broken_entry_does_not_hide_the_problems_of_the_others(tmp_path):
    path = tmp_path / "rb.yaml"
    path.write_text("""name: many
params:
  n: {type: integr}
  host: {default: h}
steps:
  - id: a
    task: core.log
    retyr: 3
  - id: b
    task: core.lgo
    after: a
  - id: c
    task: core.log
    after: [b]
    with: {message: "{{ hots }} {{ n }}"}
""")
    compiler = Compiler(catalog=support.catalog(), lookups={}, search_path=[tmp_path])
    with pytest.raises(RunbookError) as caught:
        compiler.compile(compiler.load(path, strict=False), {})
    assert [f"{p.line}:{p.column}: {p.message}" for p in caught.value.problems] == [
        "3:13: 'type': unknown type 'integr' (did you mean 'int'?); one of str, int, float, "
        "bool, duration, list[str], list[int], list[float], list[bool], list[duration]",
        "8:5: unknown key 'retyr'",  # step a is left out; 'after: a' is not reported again
        "10:11: step 'b': unknown task 'core.lgo'",
        "15:21: undefined variable 'hots'",  # 'n' is known although its declaration is broken
    ]
    with pytest.raises(RunbookError):
        compiler.load(path)  # strict loading refuses the file at once


def test_approval_mapping_sets_gate_arguments_and_timeout_and_follows_when(tmp_path):
    dag = compile_text(tmp_path, """
name: gates
params:
  go: {type: bool, default: false}
steps:
  - id: zap
    task: test.zap
    approval: {message: "zap it?", approvers: ["@ceph"], timeout: 2h}
    with: {host: h, device: /dev/sdb}
  - id: later
    task: core.log
    after: zap
    when: go
    approval: true
    with: {message: later}
""")
    gate = dag.node("approve-zap")
    assert gate.args == {"message": "zap it?", "approvers": ["@ceph"]}
    assert gate.timeout == 7200.0 and dag.node("zap").timeout is None
    assert dag.node("zap").after == ["approve-zap"]
    later_gate = dag.node("approve-later")
    assert later_gate.skip is True and dag.node("later").skip is True
    assert later_gate.args == {"message": "Approve step 'later' of runbook 'gates'?"}
    assert later_gate.after == ["zap"]
