"""cephflow's exceptions: one root, one subtree per layer.

    CephflowError                      root of everything cephflow raises on purpose
    ├── ConfigError                    settings or config file are invalid
    │   └── ClusterMismatch            Ceph commands and host operations name two clusters
    ├── RunbookError                   a runbook cannot be loaded or compiled (carries Problems)
    ├── RunbookNotFound                no runbook has that name, or the file does not exist
    ├── ParamError                     a runbook parameter given on the command line is invalid
    ├── EngineError                    the workflow engine cannot do what was asked
    │   ├── WorkflowNotFound           no workflow with that id (or prefix)
    │   ├── AmbiguousWorkflowId        a prefix matches several workflows
    │   ├── LockHeld                   a lock the runbook needs is held by another workflow
    │   ├── InvalidTransition          a command does not apply to the workflow's state
    │   └── StepNotFound               no step of the workflow has that name (or several do)
    ├── StepError                      raised inside a task: the step cannot succeed
    │   └── StepFailed                 a permanent failure: do not retry
    ├── CephError                      talking to the cluster failed
    │   ├── CommandFailed              a command ran and exited non-zero (argv, status, stderr)
    │   ├── TransportError             the command could not be run (SSH down, binary missing)
    │   │   ├── HostKeyError           the SSH host key is unknown or does not match
    │   │   └── NoAnswer               no answer within the command's deadline (mgr or mon down)
    │   └── UnsafeOperation            Ceph said an operation is not safe right now
    ├── MonitoringError                a monitoring backend (Alertmanager, HTTP) failed
    └── NotifyError                    a message could not be delivered
        ├── DeliveryRefused            the server refused it for good (4xx/5xx SMTP, auth, config)
        └── DeliveryInDoubt            the server may have taken it: not sent again

Foreign exceptions (redis, paramiko, subprocess, httpx) are translated at the layer
boundary and raised ``from`` the original; nothing foreign leaks to the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


class CephflowError(Exception):
    """Root of every error cephflow raises on purpose."""

    exit_code: int = 1


class ConfigError(CephflowError):
    """Raised when the settings or the config file are invalid."""

    exit_code = 2


class ClusterMismatch(ConfigError):
    """Raised when the configured Ceph and the host backend belong to different clusters."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a runbook, with where it is."""

    file: str
    line: int
    column: int
    message: str
    hint: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class RunbookError(CephflowError):
    """Raised when a runbook cannot be loaded, validated or compiled; holds every problem found."""

    exit_code = 2

    def __init__(self, problems: Sequence[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class RunbookNotFound(CephflowError):
    """Raised when a runbook name is not in the search path or a runbook file does not exist."""

    exit_code = 2

    def __init__(self, message: str, *, name: str | None = None, hint: str | None = None):
        self.name = name
        self.hint = hint
        super().__init__(message)


class ParamError(CephflowError):
    """Raised when a parameter value does not fit the runbook's declared type."""

    exit_code = 2


class EngineError(CephflowError):
    """Raised when the workflow engine cannot do what was asked."""


class WorkflowNotFound(EngineError):
    """Raised when no workflow matches an id or prefix."""


class AmbiguousWorkflowId(EngineError):
    """Raised when an id prefix matches more than one workflow."""

    exit_code = 2


class LockHeld(EngineError):
    """Raised at submit when a lock the runbook needs is held by another workflow."""

    exit_code = 3

    def __init__(self, lock: str, holder: str):
        self.lock = lock
        self.holder = holder
        super().__init__(f"lock {lock!r} is held by workflow {holder}")


class InvalidTransition(EngineError):
    """Raised when a command (approve, resume, cancel) does not apply to the current state."""

    exit_code = 2


class StepNotFound(EngineError):
    """Raised when a step name, fan-out label or id prefix names no node of a workflow, or several."""

    exit_code = 2


class StepError(CephflowError):
    """Raised inside a task when the step cannot succeed this time (retried per its policy)."""


class StepFailed(StepError):
    """Raised inside a task for a permanent failure: the step fails without further retries."""


class CephError(CephflowError):
    """Raised when talking to the Ceph cluster fails."""


class CommandFailed(CephError):
    """Raised when a command ran and exited non-zero."""

    def __init__(self, argv: Sequence[str], status: int, stderr: str, stdout: str = ""):
        self.argv = list(argv)
        self.status = status
        self.stderr = stderr
        self.stdout = stdout
        detail = stderr.strip() or stdout.strip() or "no output"
        super().__init__(f"{' '.join(self.argv)} exited {status}: {detail}")


class TransportError(CephError):
    """Raised when a command could not be run at all (SSH unreachable, binary missing, timeout)."""


class NoAnswer(TransportError):
    """Raised when a command got no answer within its deadline: ``who`` did not answer."""

    transient = False  # a silence as long as a deadline is no blip: a read is not tried again

    def __init__(self, message: str, *, who: str = "Ceph", waited: float = 0.0):
        super().__init__(message)
        self.who = who
        self.waited = waited


class HostKeyError(TransportError):
    """Raised when an SSH host key is not in known_hosts or does not match it."""


class UnsafeOperation(CephError, StepFailed):
    """Raised when Ceph says a destructive operation is not safe now; carries Ceph's explanation."""


class MonitoringError(CephflowError):
    """Raised when a monitoring backend (Alertmanager, generic HTTP) fails."""


class NotifyError(CephflowError):
    """Raised when a notification cannot be delivered."""


class DeliveryRefused(NotifyError):
    """Raised when a message is refused for good (bad address, auth, no channel): retry won't help."""


class DeliveryInDoubt(NotifyError):
    """Raised when the server may have accepted a message whose answer was lost; never re-sent."""
