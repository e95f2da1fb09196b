"""cephflow's exceptions: one root, one subtree per layer.

    CephflowError                      root of everything cephflow raises on purpose
    ├── ConfigError                    settings or config file are invalid
    │   ├── ClusterMismatch            Ceph commands and host operations name two clusters
    │   ├── NoClusterConfigured        no ceph.conf to reach a cluster with (none set or found)
    │   └── RedisAccessDenied          Redis refused the credentials, or its certificate is untrusted
    ├── RunbookError                   a runbook cannot be loaded or compiled (carries Problems)
    ├── RunbookNotFound                no runbook has that name, or the file does not exist
    ├── ParamError                     a runbook parameter given on the command line is invalid
    ├── EngineError                    the workflow engine cannot do what was asked
    │   ├── RedisUnreachable           Redis did not answer for as long as cephflow waits for it
    │   ├── RedisOutOfMemory           Redis refused a write: it is at its ``maxmemory``
    │   ├── WorkflowNotFound           no workflow with that id (or prefix)
    │   ├── AmbiguousWorkflowId        a prefix matches several workflows
    │   ├── LockHeld                   a lock the runbook needs is held by another workflow
    │   ├── ClusterBusy                the cluster runs its max_workflows already
    │   ├── InvalidTransition          a command does not apply to the workflow's state
    │   │   └── NotAnApprover          the user is not among the gate's approvers
    │   └── StepNotFound               no step of the workflow has that name (or several do)
    ├── StepError                      raised inside a task: the step cannot succeed
    │   └── StepFailed                 a permanent failure: do not retry
    ├── CephError                      talking to the cluster failed
    │   ├── CommandFailed              a command ran and exited non-zero (argv, status, stderr)
    │   ├── CannotTellYet              Ceph answered a safety question with EAGAIN: ask again
    │   ├── TransportError             the command could not be run (SSH down, binary missing)
    │   │   ├── HostKeyError           the SSH host key is unknown or does not match (a StepFailed too)
    │   │   └── NoAnswer               no answer within the command's deadline (mgr or mon down)
    │   └── UnsafeOperation            Ceph said an operation is not safe right now
    ├── MonitoringError                a monitoring backend (Alertmanager, HTTP) failed
    ├── NotifyError                    a message could not be delivered
    │   ├── DeliveryRefused            the server refused it for good (4xx/5xx SMTP, auth, config)
    │   └── DeliveryInDoubt            the server may have taken it: not sent again
    └── LinkError                      a datacentre link cannot be used; nothing was changed
        ├── LinkInvalid                not signed by this installation, altered, or another workflow's
        ├── LinkExpired                its time is up (``api.link_ttl``)
        ├── LinkUsed                   it was used already, or its gate was decided otherwise
        └── LinkRefused                its gate or workflow cannot take the confirmation now

Foreign exceptions (redis, paramiko, subprocess, httpx) are translated at the layer
boundary and raised ``from`` the original; nothing foreign leaks to the CLI.

Every error carries the exit status the CLI ends with (``ExitStatus``, the one table of
them; the README shows it), and may say where the problem is (``where``: a file and line,
an environment variable, a URL) and what to do about it (``hint``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum


class ExitStatus(IntEnum):
    """How every cephflow command ends; ``EXIT_MEANINGS`` says what each status means."""

    SUCCEEDED = 0
    FAILED = 1
    BAD_INPUT = 2
    LOCK_HELD = 3
    CANCELLED = 4
    UNREACHABLE = 5
    DETACHED = 130


EXIT_MEANINGS: dict[ExitStatus, str] = {
    ExitStatus.SUCCEEDED: "succeeded (also when stdout's reader stops early, as `head -1` does)",
    ExitStatus.FAILED: "the workflow failed, or the command failed for a reason no other status names",
    ExitStatus.BAD_INPUT: "bad input: arguments, runbook, params, settings, environment, unknown ids",
    ExitStatus.LOCK_HELD: "a lock the runbook needs is held by another workflow (its id is printed)",
    ExitStatus.CANCELLED: "the workflow was cancelled",
    ExitStatus.UNREACHABLE: "a service cannot be reached: Redis (after `redis_patience`) or Ceph",
    ExitStatus.DETACHED: "detached with Ctrl-C: the workflow keeps running",
}
"""The README's exit status table, row by row (a test checks that they agree)."""


class CephflowError(Exception):
    """Root of every error cephflow raises on purpose."""

    exit_code: int = ExitStatus.FAILED
    where: str | None = None
    """Where the problem is (``file:line``, ``CEPHFLOW_X``, a URL), shown after the message."""
    hint: str | None = None
    """What the user can do about it, shown on a line of its own."""


class ConfigError(CephflowError):
    """Raised when the settings or the config file are invalid."""

    exit_code = ExitStatus.BAD_INPUT

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.where = where
        self.hint = hint


class ClusterMismatch(ConfigError):
    """Raised when the configured Ceph and the host backend belong to different clusters."""


class NoClusterConfigured(ConfigError):
    """Raised before Ceph is asked anything when no ``ceph.conf`` names a cluster to reach.

    Ceph's own words for it (``ObjectNotFound ... conf_read_file``) say neither what is
    missing nor how to fix it: this says both (``hint``). Bad input, as every setting is.
    """


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


class RedisAccessDenied(ConfigError):
    """Raised at once (never waited out as an outage) when Redis refuses cephflow's user or
    password, when its ACL forbids a command or key cephflow needs, or when its TLS
    certificate is not signed by a CA cephflow trusts: asking again changes nothing, the
    settings must. ``where`` is the URL with its password hidden.
    """


class RunbookError(CephflowError):
    """Raised when a runbook cannot be loaded, validated or compiled; holds every problem found.

    Its exit status is bad input, unless a plan-time lookup could not reach Ceph (then 5).
    """

    exit_code = ExitStatus.BAD_INPUT

    def __init__(self, problems: Sequence[Problem], *, exit_code: int | None = None):
        self.problems = sorted(problems)
        if exit_code is not None:
            self.exit_code = exit_code
        super().__init__("\n".join(str(p) for p in self.problems))


class RunbookNotFound(CephflowError):
    """Raised when a runbook name is not in the search path or a runbook file does not exist."""

    exit_code = ExitStatus.BAD_INPUT

    def __init__(self, message: str, *, name: str | None = None, hint: str | None = None):
        self.name = name
        self.hint = hint
        super().__init__(message)


class ParamError(CephflowError):
    """Raised when a parameter value does not fit the runbook's declared type."""

    exit_code = ExitStatus.BAD_INPUT


class EngineError(CephflowError):
    """Raised when the workflow engine cannot do what was asked."""


class RedisUnreachable(EngineError):
    """Raised when Redis does not answer for as long as cephflow waits (``redis_patience``)."""

    exit_code = ExitStatus.UNREACHABLE

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.where = where
        self.hint = hint


class RedisOutOfMemory(EngineError):
    """Raised when Redis refuses a write because it is at its ``maxmemory`` (``noeviction``).

    Not waited out as an outage is: memory comes back only when someone acts (raises
    ``maxmemory``, deletes data), so a submit is refused at once, leaving nothing behind.
    Workflows already running go on (their transitions are allowed past the limit:
    ``engine/scripts.py``) and finish once the broker can queue their messages again.
    """

    hint = ("raise Redis's maxmemory (CONFIG SET maxmemory ...) or free memory; workflows "
            "already running go on once it can queue their messages again")

    def __init__(self, message: str, *, where: str | None = None):
        super().__init__(message)
        self.where = where


class WorkflowNotFound(EngineError):
    """Raised when no workflow matches an id or prefix."""

    exit_code = ExitStatus.BAD_INPUT
    hint = "`cephflow status` lists the recent workflows"


class WorkflowFormatUnknown(EngineError):
    """Raised when a workflow in Redis was written in a format this cephflow does not read
    (by a newer or an older cephflow): refused by name rather than misread."""

    exit_code = ExitStatus.BAD_INPUT
    hint = "use the cephflow version that submitted it"


class AmbiguousWorkflowId(EngineError):
    """Raised when an id prefix matches more than one workflow."""

    exit_code = ExitStatus.BAD_INPUT


class LockHeld(EngineError):
    """Raised at submit when a lock the runbook needs is held by another workflow."""

    exit_code = ExitStatus.LOCK_HELD

    def __init__(self, lock: str, holder: str):
        self.lock = lock
        self.holder = holder
        super().__init__(f"lock {lock!r} is held by workflow {holder}")


class ClusterBusy(EngineError):
    """Raised at submit (or resume) when the workflow's cluster runs ``max_workflows``
    workflows already."""

    exit_code = ExitStatus.LOCK_HELD

    def __init__(self, cluster: str, limit: int, running: list[str]):
        self.cluster = cluster
        self.limit = limit
        self.running = running
        super().__init__(f"cluster {cluster!r} runs {limit} workflow{'' if limit == 1 else 's'} "
                         f"at once at most (max_workflows) and runs {', '.join(running)}")
        self.hint = "run it again once one of them has ended"


class InvalidTransition(EngineError):
    """Raised when a command (approve, resume, cancel) does not apply to the current state."""

    exit_code = ExitStatus.BAD_INPUT


class NotAnApprover(InvalidTransition):
    """Raised when someone not among a gate's ``approvers`` tries to decide it."""


class StepNotFound(EngineError):
    """Raised when a step name, fan-out label or id prefix names no node of a workflow, or several."""

    exit_code = ExitStatus.BAD_INPUT


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


class CannotTellYet(CephError, StepError):
    """Raised when Ceph answers a safety question with EAGAIN: it cannot judge yet.

    ``ok-to-stop`` and ``safe-to-destroy`` say so while PGs are in an unknown state (just
    after a mgr restart, before the OSDs reported their PGs). That is neither a yes nor a
    no: a waiting step asks again, any other step is retried per its policy.
    """


class TransportError(CephError):
    """Raised when a command could not be run at all (SSH unreachable, binary missing, timeout)."""

    exit_code = ExitStatus.UNREACHABLE


class NoAnswer(TransportError):
    """Raised when a command got no answer within its deadline: ``who`` did not answer."""

    transient = False  # a silence as long as a deadline is no blip: a read is not tried again

    def __init__(self, message: str, *, who: str = "Ceph", waited: float = 0.0):
        super().__init__(message)
        self.who = who
        self.waited = waited


class HostKeyError(TransportError, StepFailed):
    """Raised when an SSH host key is not in known_hosts or does not match it.

    Also a ``StepFailed``: no retry or wait changes a host key; the step fails at once with
    the fingerprints, and the operator resumes once known_hosts is settled.
    """


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


class LinkError(CephflowError):
    """Raised when a datacentre link (``notify.dc``) cannot be used; nothing was changed."""

    exit_code = ExitStatus.BAD_INPUT


class LinkInvalid(LinkError):
    """Raised for a link that is malformed, altered, signed with another secret, or that
    names another workflow than the one it was sent for."""


class LinkExpired(LinkError):
    """Raised for a link past its end (``api.link_ttl`` after the message was sent)."""


class LinkUsed(LinkError):
    """Raised for a link used once already (a link works once), or whose gate another
    person or link has decided."""


class LinkRefused(LinkError):
    """Raised when the link's gate may not take the confirmation: the workflow has ended or
    is gone, or the gate's ``approvers`` do not admit a datacentre link."""
