"""A step's context masks the workflow's secrets in what it shows, not in what the task keeps."""

from __future__ import annotations

from cephflow.engine.context import MemoryBackend, StepContext
from cephflow.masking import Masker
from cephflow.settings import Settings


def test_progress_facts_and_left_changes_are_masked_memos_are_not():
    backend = MemoryBackend()
    ctx = StepContext(workflow_id="wf", node_id="n", backend=backend, settings=Settings(),
                      masker=Masker(["hunter22"]))
    ctx.progress("login with hunter22", sent={"password": "hunter22"}, tries=2)
    ctx.set_fact("login", {"user": "admin", "password": "hunter22"})
    ctx.leave("weight", "set with key hunter22")
    ctx.remember("password", "hunter22")
    assert backend.progress == [("wf", "n", "login with ***", {"sent": {"password": "***"},
                                                               "tries": 2})]
    assert ctx.fact("login") == {"user": "admin", "password": "***"}
    assert backend.facts[("wf", "left.weight")] == "set with key ***"
    assert ctx.memo == {"password": "hunter22"}  # only the task reads it back
    assert "hunter22" not in repr(ctx)
