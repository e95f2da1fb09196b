"""What the compiler leaves for run time: ``steps.<name>`` outputs in arguments, ``if:``,
``needs:`` and a ``foreach`` over an output, as ``Node.late`` and ``Node.expand``; the checks
that a step reads only outputs of steps it runs after; and the refusals where a value is
decided at compile time."""

from __future__ import annotations

import textwrap

import pytest

from cephflow.errors import RunbookError
from cephflow.runbook.compiler import Compiler
from cephflow.runbook.dag import REDACTED, Dag, FanOut, Group, Late, StepRef
from cephflow.tasks.core import echo
from tests.runbook import support


def compile_text(tmp_path, text: str, params: dict | None = None, *,
                 files: dict[str, str] | None = None) -> Dag:
    for name, body in (files or {}).items():
        (tmp_path / name).write_text(textwrap.dedent(body))
    path = tmp_path / "rb.yaml"
    path.write_text(textwrap.dedent(text))
    compiler = Compiler(catalog=support.catalog(), lookups=support.lookups(),
                        search_path=[tmp_path])
    return compiler.compile(compiler.load(path), params or {})


def problems(tmp_path, text: str) -> list[str]:
    with pytest.raises(RunbookError) as info:
        compile_text(tmp_path, text)
    return [str(p).replace(str(tmp_path) + "/", "") for p in info.value.problems]


HEAD = """\
name: t
params:
  host: {type: str, default: node1}
steps:
  - id: facts
    task: core.echo
    with: {value: {device: /dev/sdb, up: true}}
"""


def test_an_argument_reading_an_output_is_left_unrendered_with_its_reads_and_vars(tmp_path):
    dag = compile_text(tmp_path, HEAD + """\
  - id: zap
    task: test.zap
    after: facts
    with: {host: "{{ host }}", device: "{{ steps.facts.output.device }}-{{ host }}"}
""")
    zap = dag.node("zap")
    assert zap.args == {"host": "node1"}  # rendered now, as before
    assert zap.late == Late(
        args={"device": "{{ steps.facts.output.device }}-{{ host }}"},
        reads={"facts": StepRef(nodes=["facts"], fanout=False)},
        vars={"host": "node1"},
    )
    assert zap.expand is None
    assert dag.node("facts").late is None  # reads nothing: settled at compile time


def test_nested_late_argument_is_kept_as_written(tmp_path):
    dag = compile_text(tmp_path, HEAD + """\
  - id: show
    task: core.echo
    after: facts
    with:
      value: {dev: "{{ steps['facts'].output.device }}", fixed: 3, list: ["{{ host }}"]}
""")
    late = dag.node("show").late
    assert late.args == {"value": {"dev": "{{ steps['facts'].output.device }}", "fixed": 3,
                                   "list": ["{{ host }}"]}}
    assert dag.node("show").args == {}
    assert late.vars == {"host": "node1"}
    assert list(late.reads) == ["facts"]


def test_if_with_a_bare_expression_and_needs(tmp_path):
    dag = compile_text(tmp_path, HEAD + """\
  - id: drain
    task: core.log
    after: facts
    if: "steps.facts.output.up and host != 'x'"
    with: {message: drain}
  - id: zap
    task: core.log
    needs: drain
    with: {message: zap}
""")
    drain = dag.node("drain")
    assert drain.args == {"message": "drain"}
    assert drain.late == Late(
        condition="{{ steps.facts.output.up and host != 'x' }}",
        condition_text="steps.facts.output.up and host != 'x'",
        reads={"facts": StepRef(nodes=["facts"])},
        vars={"host": "node1"},
    )
    zap = dag.node("zap")
    assert zap.after == ["drain"]  # needs implies after
    assert zap.late == Late(needs=["drain"], reads={"drain": StepRef(nodes=["drain"])})


def test_if_over_params_only_is_still_decided_at_run_time(tmp_path):
    dag = compile_text(tmp_path, HEAD + """\
  - id: later
    task: core.log
    if: "{{ host == 'node1' }}"
    with: {message: m}
""")
    assert dag.node("later").late == Late(condition="{{ host == 'node1' }}",
                                          condition_text="{{ host == 'node1' }}",
                                          vars={"host": "node1"})


def test_compile_time_fan_out_members_read_outputs_with_their_item(tmp_path):
    dag = compile_text(tmp_path, HEAD + """\
  - id: tag
    task: test.tag
    after: facts
    foreach: [a, b]
    as: name
    if: "steps.facts.output.up"
    with: {names: ["{{ name }}"], count: "{{ steps.facts.output.n }}"}
  - id: sum
    task: core.echo
    after: tag
    with: {value: {all: "{{ steps.tag.outputs }}", a: "{{ steps.tag['a'].output }}"}}
""")
    a = dag.node("tag[a]")
    assert a.args == {"names": ["a"]}
    assert a.late == Late(
        args={"count": "{{ steps.facts.output.n }}"},
        condition="{{ steps.facts.output.up }}", condition_text="steps.facts.output.up",
        reads={"facts": StepRef(nodes=["facts"])}, vars={},
    )
    assert dag.node("tag[b]").late.condition == a.late.condition
    # reading a fan-out: its members, not the passed-on dependencies
    assert dag.node("sum").late.reads == {
        "tag": StepRef(nodes=["tag[a]", "tag[b]"], fanout=True)}


def test_late_vars_hold_the_members_item(tmp_path):
    dag = compile_text(tmp_path, HEAD + """\
  - id: tag
    task: test.tag
    after: facts
    foreach: [{n: 1}, {n: 2}]
    as: it
    label: "n{{ it.n }}"
    with: {names: ["{{ steps.facts.output.device }}-{{ it.n }}"]}
""")
    assert dag.node("tag[n2]").late.vars == {"it": {"n": 2}}
    assert dag.node("tag[n2]").late.args == {
        "names": ["{{ steps.facts.output.device }}-{{ it.n }}"]}


def test_runtime_fan_out_is_one_expander_node(tmp_path):
    dag = compile_text(tmp_path, HEAD + """\
  - id: discover
    task: core.echo
    with: {value: {osds: [{id: 1}, {id: 2}]}}
  - id: drain
    task: test.reweight
    after: [discover, facts]
    approval: "Drain on {{ host }}?"
    foreach: "{{ steps.discover.output.osds }}"
    as: osd
    label: "osd.{{ osd.id }}"
    concurrency: "{{ 1 + 1 }}"
    if: "steps.facts.output.up"
    with: {osd: "{{ osd.id }}", step: 0.5, weight: "{{ steps.facts.output.w }}"}
  - id: zap
    task: test.zap
    after: drain
    foreach: [a, b]
    with: {host: "{{ host }}", device: "{{ item }}"}
  - id: done
    task: core.log
    after: drain
    with: {message: done}
""")
    drain = dag.node("drain")
    assert drain.task == "test.reweight" and drain.step == "drain"
    assert drain.group is None and drain.label is None
    assert drain.after == ["approve-drain"]
    assert dag.node("approve-drain").after == ["discover", "facts"]
    assert dag.node("approve-drain").args == {"message": "Drain on node1?"}
    assert drain.args == {"step": 0.5}
    assert drain.late == Late(
        args={"osd": "{{ osd.id }}", "weight": "{{ steps.facts.output.w }}"},
        condition="{{ steps.facts.output.up }}", condition_text="steps.facts.output.up",
        reads={"discover": StepRef(nodes=["discover"]), "facts": StepRef(nodes=["facts"])},
        vars={},
    )
    assert drain.expand == FanOut(items="{{ steps.discover.output.osds }}", var="osd",
                                  label="osd.{{ osd.id }}", concurrency=2,
                                  source="the output of discover")
    assert dag.groups["drain"] == Group(id="drain", concurrency=2)
    assert [n.id for n in dag.nodes if n.step == "drain"] == ["approve-drain", "drain"]
    # what waits for it waits for the expander; a fan-out after it needs no barrier
    assert dag.node("done").after == ["drain"]
    assert dag.node("zap[a]").after == ["drain"]
    assert "drain[*]" not in [n.id for n in dag.nodes]


def test_runtime_fan_out_reads_are_the_nodes_of_the_expander(tmp_path):
    dag = compile_text(tmp_path, HEAD + """\
  - id: each
    task: core.echo
    after: facts
    foreach: "{{ steps.facts.output.list }}"
    with: {value: {x: "{{ item }}"}, }
  - id: sum
    task: core.echo
    after: each
    with: {value: {all: "{{ steps.each.outputs }}"}}
""")
    assert dag.node("each").expand.concurrency is None
    assert dag.node("each").expand.label is None
    assert dag.node("each").expand.var == "item"
    assert dag.node("each").late.args == {"value": {"x": "{{ item }}"}}
    assert dag.node("sum").late.reads == {"each": StepRef(nodes=["each"], fanout=True)}


def test_runtime_fan_out_skipped_by_when_is_marked_skip(tmp_path):
    dag = compile_text(tmp_path, HEAD + """\
  - id: each
    task: core.echo
    after: facts
    when: "host == 'other'"
    foreach: "{{ steps.facts.output.list }}"
    with: {value: {}}
""")
    each = dag.node("each")
    assert each.skip is True and each.expand is not None
    assert each.late == Late(reads={"facts": StepRef(nodes=["facts"])}, vars={})


def test_include_reads_are_prefixed(tmp_path):
    dag = compile_text(tmp_path, """\
name: top
steps:
  - id: first
    task: core.log
    with: {message: go}
  - id: inc
    include: sub
    after: first
    with: {host: node7}
""", files={"sub.yaml": """\
name: sub
params:
  host: {type: str}
steps:
  - id: facts
    task: core.echo
    foreach: [x, y]
    with: {value: {host: "{{ host }}"}}
  - id: use
    task: core.log
    after: facts
    with: {message: "{{ steps.facts['x'].output.host }} on {{ host }}"}
"""})
    use = dag.node("inc.use")
    assert use.late == Late(
        args={"message": "{{ steps.facts['x'].output.host }} on {{ host }}"},
        reads={"facts": StepRef(nodes=["inc.facts[x]", "inc.facts[y]"], fanout=True)},
        vars={"host": "node7"},
    )


def test_json_round_trip_with_late_and_expand_is_byte_for_byte(tmp_path):
    dag = compile_text(tmp_path, HEAD + """\
  - id: each
    task: test.reweight
    after: facts
    if: steps.facts.output.up
    foreach: "{{ steps.facts.output.osds }}"
    concurrency: 3
    with: {osd: "{{ item }}"}
  - id: zap
    task: test.zap
    needs: each
    with: {host: "{{ host }}", device: "{{ steps.facts.output.device }}"}
""")
    text = dag.to_json()
    assert '"expand":{"concurrency":3,' in text and '"late":{"args":{"device":' in text
    assert '"id":"facts","label":null,"redo_on_resume"' in text  # no late: key left out
    again = Dag.model_validate_json(text)
    assert again.to_json() == text
    assert again.node("each").expand == dag.node("each").expand
    assert again.node("zap").late == dag.node("zap").late


def test_a_param_named_steps_keeps_its_meaning(tmp_path):
    dag = compile_text(tmp_path, """\
name: t
params:
  steps: {type: int, default: 4}
steps:
  - id: a
    task: core.log
    with: {message: "{{ steps }} steps"}
""")
    assert dag.node("a").args == {"message": "4 steps"} and dag.node("a").late is None


def test_secret_values_in_late_vars_are_redacted(tmp_path):
    dag = compile_text(tmp_path, """\
name: t
params:
  pw: {type: str, secret: true, default: s3cr3t}
steps:
  - id: facts
    task: core.echo
    with: {value: {}}
  - id: login
    task: test.login
    after: facts
    with: {user: "{{ steps.facts.output.user }}", password: "{{ pw }}"}
""")
    login = dag.node("login")
    assert login.late.vars == {} and login.secret_args == ["password"]
    dag = compile_text(tmp_path, """\
name: t
params:
  pw: {type: str, secret: true, default: s3cr3t}
steps:
  - id: facts
    task: core.echo
    with: {value: {}}
  - id: login
    task: test.login
    after: facts
    with: {user: u, password: "{{ pw }}{{ steps.facts.output.suffix }}"}
""")
    login = dag.node("login")
    assert login.late.vars == {"pw": "s3cr3t"} and login.secret_args == ["password"]
    shown = dag.redacted()
    assert shown.node("login").late.vars == {"pw": REDACTED}
    assert "s3cr3t" not in shown.to_json()


# -- refusals, each at its position ---------------------------------------------------------

def test_reading_a_step_it_does_not_run_after(tmp_path):
    assert problems(tmp_path, HEAD + """\
  - id: other
    task: core.log
    with: {message: x}
  - id: zap
    task: test.zap
    after: other
    with: {host: h, device: "{{ steps.facts.output.device }}"}
""") == ["rb.yaml:14:29: step 'zap' reads the output of 'facts' but does not run after it "
         "(add 'facts' to after)"]


def test_reading_through_after_transitively_is_allowed(tmp_path):
    dag = compile_text(tmp_path, HEAD + """\
  - id: mid
    task: core.log
    after: facts
    with: {message: x}
  - id: zap
    task: test.zap
    after: mid
    with: {host: h, device: "{{ steps.facts.output.device }}"}
""")
    assert dag.node("zap").late.reads == {"facts": StepRef(nodes=["facts"])}


def test_reading_steps_from_when_and_other_compile_time_places(tmp_path):
    assert problems(tmp_path, """\
name: t
locks: ["{{ steps.a.output.x }}"]
steps:
  - id: a
    task: core.echo
    with: {value: {}}
  - id: b
    task: core.log
    after: a
    when: "steps.a.output.up"
    timeout: "{{ steps.a.output.t }}"
    with: {message: m}
  - id: c
    task: core.log
    after: a
    foreach: [1, 2]
    label: "{{ steps.a.output.x }}"
    concurrency: "{{ steps.a.output.n }}"
    with: {message: m}
""") == [
        "rb.yaml:2:9: a lock is decided when the runbook is compiled: it cannot read step "
        "outputs (steps.<name>)",
        "rb.yaml:10:11: when is decided when the runbook is compiled; use if: to decide at "
        "run time",
        "rb.yaml:11:14: timeout is decided when the runbook is compiled: it cannot read step "
        "outputs (steps.<name>)",
        "rb.yaml:17:12: the label of a fan-out known when compiled is decided when the "
        "runbook is compiled: it cannot read step outputs (steps.<name>)",
        "rb.yaml:18:18: concurrency is decided when the runbook is compiled: it cannot read "
        "step outputs (steps.<name>)",
    ]


def test_a_dynamic_step_name_is_refused(tmp_path):
    assert problems(tmp_path, HEAD + """\
  - id: b
    task: core.echo
    after: facts
    foreach: [facts]
    with: {value: {x: "{{ steps[item].output }}"}}
""") == ["rb.yaml:12:23: step 'b': 'steps' must be followed by a step's name (steps.facts "
         "or steps[\"facts\"]): the compiler must know which outputs a step reads (a step "
         "chosen at run time (steps[name]) is not supported)"]


def test_unknown_own_and_include_steps_and_bad_needs(tmp_path):
    (tmp_path / "sub.yaml").write_text("name: sub\nsteps:\n  - id: s\n    task: core.log\n"
                                       "    with: {message: m}\n")
    assert problems(tmp_path, HEAD + """\
  - id: inc
    include: sub
  - id: b
    task: core.echo
    after: [facts, inc]
    needs: [nope, inc]
    if: "steps.fatcs.output.up or steps.b.output.up or steps.inc.output.up"
    with: {value: {}}
""") == [
        "rb.yaml:13:13: step 'b': 'needs' names no step 'nope' of its section",
        "rb.yaml:13:19: step 'b': 'needs' names the include 'inc'; name a step that runs a "
        "task",
        "rb.yaml:14:9: step 'b' reads its own output (steps.b)",
        "rb.yaml:14:9: step 'b' reads steps.fatcs: no step 'fatcs' in steps "
        "(did you mean 'facts'?)",
        "rb.yaml:14:9: step 'b' reads steps.inc: 'inc' is an include, which has no output "
        "of its own",
    ]


def test_finally_reads_only_finally_steps(tmp_path):
    assert problems(tmp_path, HEAD + """\
finally:
  - id: bye
    task: core.log
    with: {message: "{{ steps.facts.output.device }}"}
""") == ["rb.yaml:11:21: step 'bye' reads steps.facts: no step 'facts' in finally "
         "(finally steps can read only the outputs of finally steps)"]


def test_an_include_cannot_take_outputs_or_if(tmp_path):
    (tmp_path / "sub.yaml").write_text("name: sub\nparams: {x: {type: str}}\nsteps:\n"
                                       "  - id: s\n    task: core.log\n"
                                       "    with: {message: \"{{ x }}\"}\n")
    found = problems(tmp_path, HEAD + """\
  - id: inc
    include: sub
    after: facts
    if: "true"
    with: {x: "{{ steps.facts.output.device }}"}
""")
    assert found == ["rb.yaml:8:5: step 'inc': an include cannot have 'if'"]
    found = problems(tmp_path, HEAD + """\
  - id: inc
    include: sub
    after: facts
    with: {x: "{{ steps.facts.output.device }}"}
""")
    assert found == ["rb.yaml:11:15: an include's with is decided when the runbook is "
                     "compiled: it cannot read step outputs (steps.<name>)"]


def test_an_unknown_late_argument_is_refused_at_compile_time(tmp_path):
    assert problems(tmp_path, HEAD + """\
  - id: zap
    task: test.zap
    after: facts
    with: {host: h, devise: "{{ steps.facts.output.device }}"}
""") == ["rb.yaml:11:5: step 'zap': missing argument 'device'",
         "rb.yaml:11:21: step 'zap': unknown argument 'devise' (did you mean 'device'?)"]


def test_needs_cycle_is_reported_at_needs(tmp_path):
    found = problems(tmp_path, """\
name: t
steps:
  - id: a
    task: core.log
    needs: b
    with: {message: m}
  - id: b
    task: core.log
    after: a
    with: {message: m}
""")
    assert found == ["rb.yaml:5:12: dependency cycle: a -> b -> a (each waits for the next)"]


def test_echo_returns_its_value():
    assert echo(None, value={"device": "/dev/sdb"}) == {"device": "/dev/sdb"}
    assert support.catalog()["core.echo"].params["value"].required


def test_if_must_be_text(tmp_path):
    path = tmp_path / "rb.yaml"
    path.write_text("name: t\nsteps:\n  - id: a\n    task: core.log\n    if: true\n"
                    "    with: {message: m}\n")
    compiler = Compiler(catalog=support.catalog(), lookups={}, search_path=[])
    with pytest.raises(RunbookError) as info:
        compiler.compile(compiler.load(path, strict=False), {})
    assert [str(p).replace(str(tmp_path) + "/", "") for p in info.value.problems] == [
        "rb.yaml:5:9: step 'a': 'if': must be a condition (text), decided when the step is "
        "ready, got True"]
