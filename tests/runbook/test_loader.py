"""The positional YAML loader, param types/durations and the sandboxed templates."""

from __future__ import annotations

import pytest

from cephflow.runbook import types
from cephflow.runbook.templates import TemplateProblem, Templates
from cephflow.runbook.yamlpos import load_text


def test_positions_of_keys_and_values():
    doc, problems = load_text("name: x\nsteps:\n  - id: a\n    with:\n      osd: 41\n", "f.yaml")
    assert problems == []
    assert doc.data == {"name": "x", "steps": [{"id": "a", "with": {"osd": 41}}]}
    assert doc.where(("steps", 0, "with", "osd")) == (5, 12)
    assert doc.where(("steps", 0, "with", "osd"), key=True) == (5, 7)
    assert doc.where(("steps", 0)) == (3, 5)
    # a path that does not exist falls back to its nearest ancestor
    assert doc.where(("steps", 0, "with", "nope")) == (5, 7)


def test_safe_subset_only():
    doc, problems = load_text("a: !!python/name:os.system x\nb: !custom 1\n", "f.yaml")
    assert [str(p) for p in problems] == [
        "f.yaml:1:4: unsupported YAML tag 'tag:yaml.org,2002:python/name:os.system'",
        "f.yaml:2:4: unsupported YAML tag '!custom'",
    ]


def test_keys_are_their_text_and_timestamps_stay_text():
    doc, problems = load_text("on: 2024-01-02\n1: yes\n", "f.yaml")
    assert problems == []
    assert doc.data == {"on": "2024-01-02", "1": True}


def test_merge_keys_and_duplicates():
    doc, problems = load_text("base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\nc2: 1\nc2: 2\n", "f.yaml")
    assert doc.data["c"] == {"x": 1, "y": 2}
    assert [str(p) for p in problems] == ["f.yaml:6:1: duplicate key 'c2'"]


def test_recursive_alias_is_a_problem_not_a_hang():
    doc, problems = load_text("a: &a [1, *a]\n", "f.yaml")
    assert [p.message for p in problems] == ["recursive YAML alias"]


@pytest.mark.parametrize("text,seconds", [
    ("90s", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("1d", 86400), ("1.5", 1.5),
    (45, 45), ("500ms", 0.5),
])
def test_durations(text, seconds):
    assert types.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "5 parsecs", "-3s", "1h 2x", True, "", "h"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        types.parse_duration(text)


def test_coerce_lists_and_bools():
    assert types.coerce(types.parse_type("list[int]"), "1, 2,3") == [1, 2, 3]
    assert types.coerce(types.parse_type("list[duration]"), ["1m", 5]) == [60, 5]
    assert types.coerce(types.parse_type("bool"), "No") is False
    with pytest.raises(ValueError, match="expected an integer"):
        types.coerce(types.parse_type("int"), True)


def test_native_expression_keeps_type_and_text_template_renders_text():
    t = Templates()
    ctx = {"osds": [1, 2], "n": 3}
    assert t.render("{{ osds }}", ctx) == [1, 2]
    assert t.render(" {{ n + 1 }} ", ctx) == 4
    assert t.render("osd.{{ n }}", ctx) == "osd.3"
    assert t.render({"a": ["{{ n }}", "x"]}, ctx) == {"a": [3, "x"]}
    assert t.render("{{ range(3) }}", ctx) == [0, 1, 2]


@pytest.mark.parametrize("text", [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ n.__class__ }}",
    "{% for c in ''.__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ 'x' * 10 ** 9 }}",
    "{{ [1] * 1000000 }}",
    "{{ 2 ** 10000000000 }}",
])
def test_sandbox_refuses_python_internals(text):
    with pytest.raises(TemplateProblem):
        Templates().render(text, {"n": 1})


def test_undefined_is_an_error_with_a_suggestion():
    with pytest.raises(TemplateProblem) as caught:
        Templates().render("{{ hots }}", {"host": "h"})
    assert caught.value.message == "undefined variable 'hots'"
    assert caught.value.hint == "did you mean 'host'?"
