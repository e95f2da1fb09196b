"""The demo compiles its runbook with params the runbook declares (a renamed param once broke
``make demo`` and nothing else)."""

from __future__ import annotations

from cephflow.operations.demo import RUNBOOK, demo_params
from cephflow.runbook import library
from cephflow.settings import get_settings


def test_the_demo_gives_its_runbook_only_params_it_declares():
    path = library.find(RUNBOOK, get_settings().runbook_search_path())
    declared = library.load(path).decl.params
    for target in ({"host": "lab-b", "osd": None}, {"host": "", "osd": 3}):
        params = demo_params(**target, downtime=True, notify=False, steps=2)
        assert set(params) <= set(declared), set(params) - set(declared)
        assert params["weight_steps"] == 2
