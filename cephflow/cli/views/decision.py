"""The line ``cephflow approve``/``reject`` prints for each gate it named.

A fresh decision says what was decided (and, when the gate was not reached yet, that it
passes or fails when it is); a decision made before says by whom and when, so that a second
approver knows the first one was quicker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from cephflow.cli.views.event_line import timestamp

if TYPE_CHECKING:  # the engine is imported only by a command that runs (cli.commands says why)
    from cephflow.engine.gates import GateDecision


def decision_line(workflow_id: str, gate: GateDecision) -> Text:
    """``approved work[0] of workflow ID`` or ``... was already approved by alice at T``."""
    if gate.already:
        text = (f"{gate.node} of workflow {workflow_id} was already {gate.decision} by "
                f"{gate.by} at {timestamp(gate.at)}")
    else:
        text = f"{gate.decision} {gate.node} of workflow {workflow_id}"
    if gate.reason:
        text += f": {gate.reason}"
    if gate.early and not gate.already:
        text += "; the gate is not reached yet and obeys this when it is"
    return Text(text)
