"""The built-in task names that code outside their own task module refers to.

A task's name is the contract between a runbook's ``task:`` and the function a worker runs.
The compiler inserts approval gates and barriers, the engine finds gates to decide, the
views mark them, and a few tasks share a name with a plan-time lookup or quote it in their
messages: each of those reads the name here, so renaming a task is one edit and two
spellings can never drift apart. It sits at the bottom of the layers (no imports) so the
compiler, the engine, the tasks and the front ends can all read it.
"""

from __future__ import annotations

APPROVAL_TASK = "core.approval"
"""The task of every approval gate (the ``approval:`` shorthand inserts one too)."""
NOOP_TASK = "core.noop"
"""Does nothing: the compiler's barrier between two fan-outs runs it."""
PRECHECK_TASK = "ceph.precheck"
"""The pre-flight check: a plan-time lookup and, right before the first change, a task."""
NOTIFY_DC_TASK = "notify.dc"
"""A message to the DC technicians about one disk or host."""
NOTIFY_SEND_TASK = "notify.send"
"""A free-form message."""
