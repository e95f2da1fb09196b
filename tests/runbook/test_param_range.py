"""A param's ``min``/``max``: each value (each item of a list) is checked, secrets not echoed."""

from __future__ import annotations

from cephflow.runbook.model import ParamDecl, RunbookDecl
from cephflow.runbook.params import resolve_params


def decl(**params: dict) -> RunbookDecl:
    return RunbookDecl.model_validate({
        "name": "r", "params": params, "steps": [{"id": "a", "task": "core.log"}]})


def test_values_outside_the_range_are_reported_one_by_one():
    runbook = decl(items={"type": "int", "min": 1}, osds={"type": "list[int]", "min": 0, "max": 9},
                   pause={"type": "duration", "min": 1})
    values, errors = resolve_params(runbook, {"items": "-3", "osds": [2, -1, 12], "pause": "500ms"})
    assert errors == [
        ("items", "param 'items': -3 is less than the minimum 1"),
        ("osds", "param 'osds': -1 is less than the minimum 0"),
        ("osds", "param 'osds': 12 is more than the maximum 9"),
        ("pause", "param 'pause': 0.5 is less than the minimum 1"),
    ]
    assert resolve_params(runbook, {"items": 1, "osds": [0, 9], "pause": "1s"})[1] == []


def test_a_secret_out_of_range_is_not_echoed():
    _, errors = resolve_params(decl(pin={"type": "int", "secret": True, "min": 1000}), {"pin": "42"})
    assert errors == [("pin", "param 'pin': the value given is less than the minimum 1000")]
    assert ParamDecl(type="int").min is None
