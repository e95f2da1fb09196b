"""The shapes of the API's bodies that are not already engine models.

Workflows are answered with the engine's own models (``WorkflowSummary``, ``WorkflowSnapshot``,
``HistoryEntry``): one definition of a workflow for the CLI's ``--json`` and the API. Request
bodies refuse unknown fields, so a misspelt ``parms`` is a 422, not an empty run.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

RUNBOOK_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
"""A runbook is named, never given as a path: the API opens no file a caller chooses."""

ParamValue = str | int | float | bool | list[str | int | float | bool] | None


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanRequest(_Request):
    params: dict[str, ParamValue] = Field(default_factory=dict, max_length=200)
    """Values as the CLI takes them (``"1h30m"``, ``"3"``) or typed (``3``, ``["a", "b"]``)."""
    cluster: str | None = Field(default=None, max_length=100)
    """The cluster to plan or run on (``--cluster``; None: the default one)."""


class SubmitRequest(PlanRequest):
    runbook: str = Field(pattern=RUNBOOK_NAME)


class DecisionRequest(_Request):
    reason: str | None = Field(default=None, max_length=2000)
    """Why (required to reject)."""
    early: bool = False
    """Decide a gate the workflow has not reached yet."""


class PauseRequest(_Request):
    reason: str = Field(default="", max_length=2000)
    """Why (shown with the pause, kept in the history)."""


class PausedInfo(BaseModel):
    workflow_id: str
    already: bool
    """It was paused already: the first pause's who, when and why stand."""
    flags: list[str]
    """Flags the pause set (``norebalance``, ``nobackfill``) and holds."""
    left: list[str]
    """Flags set already by someone else: left as they are."""


class UnpausedInfo(BaseModel):
    workflow_id: str
    sent: int
    """Held steps sent again."""
    lifted: list[str]


class ResumedInfo(BaseModel):
    workflow_id: str
    unpaused: UnpausedInfo | None = None
    """Set when the workflow was paused: resuming it lifted the pause instead."""


class ResumeRequest(_Request):
    from_step: str | None = Field(default=None, max_length=500)
    """Re-run this step and every step after it too."""


class ParamInfo(BaseModel):
    name: str
    type: str
    required: bool
    default: Any = None
    """Absent for a secret param."""
    help: str = ""
    choices: list[Any] | None = None
    secret: bool = False
    min: float | None = None
    max: float | None = None


class RunbookInfo(BaseModel):
    name: str
    description: str | None
    shipped: bool
    problem: str | None = None
    """The first problem of a runbook that does not load (``file:line:col: message``)."""


class RunbookDetail(RunbookInfo):
    params: list[ParamInfo]
    steps: list[str]
    """The step ids, in the file's order."""


class PlanInfo(BaseModel):
    runbook: str
    cluster: str
    steps: int
    given: dict[str, Any]
    dag: dict[str, Any]
    """The DAG as ``cephflow plan --json`` prints it (secret params redacted)."""
    shown: list[dict[str, Any]]
    """The steps a plan lists (the compiler's barriers left out): ``id``, ``task``, ``after``."""


class SubmittedInfo(BaseModel):
    id: str
    runbook: str
    steps: int
    submitted_by: str


class DecisionInfo(BaseModel):
    workflow_id: str
    gates: list[dict[str, Any]]


class CancelledInfo(BaseModel):
    workflow_id: str
    left: list[str]
    """What the steps changed that cancelling does not undo."""


class WorkflowRef(BaseModel):
    workflow_id: str
