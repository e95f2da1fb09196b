"""The one settings object: environment variables, then an optional TOML config file.

Precedence (highest first): ``CEPHFLOW_*`` environment variables, the config file named by
``CEPHFLOW_CONFIG`` (default ``~/.config/cephflow/config.toml``), the defaults below.
Nested sections use ``__`` in environment variables: ``CEPHFLOW_SMTP__HOST=mail.example``.

Reading is strict (``settings_sources``): a key of the file or a ``CEPHFLOW_*`` variable that
names no setting, a missing explicit config file, a TOML syntax error or a value of the wrong
type is a ``ConfigError`` saying where, never ignored and never a traceback.

Secrets are ``SecretStr``: they print as ``**********`` wherever a settings object is shown.

A process may add hooks (``add_settings_hook``) that adjust every settings object once it is
read: whoever starts a cephflow process (the CLI, the worker app) registers the lab's state
file that way, so this module imports nothing above it.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from cephflow import sentinel_url, settings_sources
from cephflow.errors import ConfigError
from cephflow.suggest import did_you_mean

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_RUNBOOKS = PROJECT_ROOT / "runbooks"


def default_state_dir() -> Path:
    """Where the embedded Redis, the local worker and the lab cluster keep their files."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "cephflow"


def config_file() -> Path:
    """The config file: ``CEPHFLOW_CONFIG`` or ``~/.config/cephflow/config.toml``."""
    explicit = os.environ.get(settings_sources.CONFIG_VARIABLE)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "cephflow" / "config.toml"


REDIS_SCHEMES = ("redis", "rediss", "unix", sentinel_url.SCHEME)
REDIS_TLS_PARAMETERS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs",
                        "ssl_check_hostname")
"""The query parameters a ``rediss://`` URL may carry (redis-py's names); the files named by
the first three must exist. Any other parameter is refused: kombu cannot take it."""
_REDIS_TLS_FILES = REDIS_TLS_PARAMETERS[:3]
_CERT_REQS = ("required", "optional", "none")


class CephSettings(BaseModel):
    """How cephflow reaches the cluster."""

    conf: Path | None = None
    """``ceph.conf`` to pass as ``-c`` (None: Ceph's own default or CEPH_CONF)."""
    ceph_binary: str = "ceph"
    ssh_host: str | None = None
    """Admin host to run ``ceph`` on over SSH; None runs it locally."""
    ssh_user: str | None = None
    ssh_port: int = 22
    ssh_key: Path | None = None
    known_hosts: Path | None = None
    """known_hosts file to verify host keys against (default: ~/.ssh/known_hosts)."""
    connect_timeout: float = 10.0
    """Seconds to reach the mons (``ceph --connect-timeout``; librados' ``client_mount_timeout``)."""
    call_timeout: float = 30.0
    """Seconds one Ceph command (a mon or mgr command, read or change) may take, on every backend:
    the ``ceph`` process is killed, a librados call is abandoned, and ``NoAnswer`` says who did
    not answer. Waiting steps then say "mgr unreachable for N s" and keep waiting."""
    command_timeout: float = 120.0
    """Seconds a host command may take: ``systemctl``, ``ceph-volume`` over SSH, and the
    ``ceph orch`` commands that deploy or zap (they outlive ``call_timeout``)."""
    backend: str = "auto"
    """``cli``, ``librados`` or ``auto`` (librados where importable, for polling)."""
    hosts_backend: str = "ssh"
    """How host-level actions run: ``ssh`` (package/systemd), ``cephadm`` or ``lab``."""
    movement_rate: float = 100 * 1024 * 1024
    """Bytes per second a plan's ETA assumes when the cluster recovers nothing at plan time
    (a stated guess: 100 MiB/s; measure yours from a past move's ``recovering_bytes_per_sec``)."""
    osdmaptool: str = "osdmaptool"
    """``osdmaptool`` run on this machine to predict a plan's data movement."""
    lab_dir: Path | None = None
    """The lab cluster's directory (set from the lab's state file while ``cephflow lab up``)."""
    ssh_trust_new_host_keys: list[str] = Field(default_factory=list)
    """Hosts (by the name cephflow connects to: ``ssh_host``, an OSD host) whose unknown SSH
    host key is trusted on first use and written to ``known_hosts``; every other unknown key
    is refused. A key that differs from the one in ``known_hosts`` is refused for all."""


class PacingSettings(BaseModel):
    """The caps a weight step waits under (``ceph.reweight``, ``ceph.drain_host``,
    ``ceph.fill_host``); a value given to the step (a runbook param) wins over these.

    A step is taken only while every signal is at or under its cap; each gates the next step,
    none bounds what a step already started (see docs/ceph.md).
    """

    max_misplaced: float = Field(default=0.01, ge=0)
    """Misplaced object copies over all copies (0.01 is 1 %)."""
    max_backfilling: int = Field(default=20, ge=0)
    """PGs backfilling or waiting to (``backfill_wait``)."""
    max_nearfull: int = Field(default=0, ge=0)
    """OSDs at or over the osdmap's ``nearfull_ratio`` (from ``ceph osd df``)."""
    max_commit_latency_ms: float = Field(default=0.0, ge=0)
    """The highest OSD commit latency in ``ceph osd perf`` (ms); 0 leaves latency unread."""


class CelerySettings(BaseModel):
    """How Celery routes and paces steps: each step is a Celery task named after its task
    (``ceph.reweight``, ``notify.dc``), so Celery's routing and rate limits by task name apply
    (``docs/architecture.md``, "Task routing and rate limits")."""

    task_routes: dict[str, str] = Field(default_factory=dict)
    """Task name, or glob (``ceph.*``), -> the Celery queue its steps are sent to (first match
    in this order); a worker takes them only when it serves that queue (``celery worker -Q``).
    Unrouted tasks go to the queue named after ``namespace``."""
    rate_limits: dict[str, str] = Field(default_factory=dict)
    """Task name -> Celery rate limit (``"10/m"``, ``"2/s"``, ``"100/h"``): how many of its
    steps one worker starts per second, minute or hour."""

    @field_validator("task_routes")
    @classmethod
    def _routes(cls, routes: dict[str, str]) -> dict[str, str]:
        for name, queue in routes.items():
            if not name.strip() or not queue.strip():
                raise ValueError(f"route {name!r} -> {queue!r}: task and queue must not be "
                                 "empty")
        return routes

    @field_validator("rate_limits")
    @classmethod
    def _rates(cls, rates: dict[str, str]) -> dict[str, str]:
        for name, rate in rates.items():
            if not _RATE.fullmatch(rate.strip()):
                raise ValueError(f"rate limit of {name!r}: {rate!r} is not a Celery rate "
                                 "(a number, optionally /s, /m or /h: '10/m')")
        return rates


_RATE = re.compile(r"\d+(\.\d+)?(/[smh])?")


class RetrySettings(BaseModel):
    """How often a delivery to one server is tried before the step sees the error."""

    attempts: int = 3
    """Total tries against one server, the first included."""
    backoff: float = 0.5
    """Seconds before the second try; doubled for each further one (at most 10 s)."""


class AlertmanagerSettings(RetrySettings):
    """Downtime as Alertmanager silences; several URLs for an HA pair."""

    urls: list[str] = Field(default_factory=list)
    """Every Alertmanager gets the silence (an HA pair that gossips keeps harmless duplicates)."""
    username: str | None = None
    password: SecretStr | None = None
    creator: str = "cephflow"
    timeout: float = 10.0
    ca_file: Path | None = None
    """CA bundle to verify an https Alertmanager against (default: the system's)."""
    default_duration: float = 4 * 3600.0
    """Seconds a silence lasts when the step names no duration: the safety net."""
    extend_margin: float = 15 * 60.0
    """Waiting steps extend a silence that would end within this many seconds."""
    pause_extension: float = 24 * 3600.0
    """``cephflow pause`` extends the workflow's silences to end no sooner than this many
    seconds from then (a paused workflow's waiting steps do not check, so do not extend)."""


class HttpDowntimeSettings(RetrySettings):
    """A generic HTTP downtime backend: templated requests to set and to clear.

    URLs and bodies are jinja2 templates (sandboxed) over: ``host``, ``matchers`` (list of
    dicts), ``comment``, ``creator``, ``starts_at``/``ends_at`` (ISO 8601), ``starts_epoch``/
    ``ends_epoch``, ``duration`` (seconds), ``workflow_id``, ``node_id``; the clear request
    also sees ``id`` (taken from the set response's JSON field ``id_field``).
    """

    set_url: str | None = None
    set_method: str = "POST"
    set_body: str | None = None
    """Template of the JSON body of the set request (None: a built-in JSON document)."""
    clear_url: str | None = None
    clear_method: str = "DELETE"
    clear_body: str | None = None
    id_field: str | None = "id"
    """Field of the set response's JSON that identifies the downtime (None: no id)."""
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    """Extra request headers (secrets: an API key header is never printed)."""
    token: SecretStr | None = None
    """Sent as ``Authorization: Bearer <token>``."""
    timeout: float = 10.0
    ca_file: Path | None = None


class SmtpSettings(RetrySettings):
    """Email to the datacentre technicians and approvers."""

    host: str | None = None
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    """Implicit TLS from the first byte (SMTPS, usually port 465) instead of STARTTLS."""
    ca_file: Path | None = None
    """CA bundle to verify the server's certificate against (default: the system's)."""
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "cephflow@localhost"
    recipients: list[str] = Field(default_factory=list)
    """The DC technicians (and approvers, unless a step names its own)."""
    timeout: float = 10.0


class WebhookSettings(RetrySettings):
    """An HTTP webhook (JSON; ``style = "slack"`` for Slack/Mattermost payloads)."""

    url: SecretStr | None = None
    style: str = "json"
    """``json`` (subject, text, facts, workflow, step) or ``slack`` (``text`` in mrkdwn)."""
    token: SecretStr | None = None
    """Sent as ``Authorization: Bearer <token>``."""
    channel: str | None = None
    """Slack/Mattermost channel override (``slack`` style only)."""
    username: str | None = None
    """Slack/Mattermost display name override (``slack`` style only)."""
    timeout: float = 10.0
    ca_file: Path | None = None


class ApiRole(StrEnum):
    """What an API token may do (``cephflow serve``); a token holds one or more."""

    VIEWER = "viewer"
    """Read: runbooks, workflows, their events and the history."""
    OPERATOR = "operator"
    """Plan, submit, cancel, resume and retry (and read)."""
    APPROVER = "approver"
    """Approve or reject approval gates, as far as each gate's own ``approvers`` allow (and read)."""


class ApiToken(BaseModel):
    """One API token: only its SHA-256 is kept (``cephflow api-token`` makes one)."""

    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    """Hex SHA-256 of the token (tokens are 32 random bytes: a plain hash is enough)."""
    user: str = Field(min_length=1)
    """Recorded as who did what the token's calls do (the audit history)."""
    roles: list[ApiRole] = Field(min_length=1)


class ApiSettings(BaseModel):
    """``cephflow serve``: the REST API and the web page."""

    host: str = "127.0.0.1"
    port: int = Field(default=8470, ge=0, le=65535)
    tokens: dict[str, ApiToken] = Field(default_factory=dict)
    """Keyed by a name for the token (who holds it, what it is for)."""
    max_body_bytes: int = Field(default=1_000_000, gt=0)
    """A request body larger than this is refused (413) before it is read."""
    proxy_user_header: str | None = None
    """Single sign-on through a reverse proxy: the header in which it names the signed-in
    user (``X-Remote-User``). Off (None) by default; honoured only from ``proxy_addresses``
    and only for calls without a token."""
    proxy_addresses: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    """The peers (the proxy itself) whose ``proxy_user_header`` is believed."""
    proxy_roles: dict[str, list[ApiRole]] = Field(default_factory=dict)
    """Roles of the users the proxy signs in, by user name; one not listed gets 403."""
    snapshot_max_age: float = Field(default=5.0, gt=0)
    """Seconds a workflow's cached snapshot is served unchanged before it is read again in
    the background; a change to the workflow shows at once (``SnapshotCache``), only the
    queued steps' wait for a worker (their leases) may be this much older."""
    auth_failures_per_minute: int = Field(default=30, gt=0)
    """Calls with a missing or wrong token one client address may make in a minute; past
    that every call from it is refused (429) until the minute has passed."""
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    """The base URL at which people reach ``cephflow serve`` (``https://cephflow.example``).
    With it and ``link_secret``, ``notify.dc`` sends the technicians a link to a confirmation
    page (``docs/api.md``, "Datacentre link"); without either, the message names the command."""
    link_secret: SecretStr | None = None
    """Signs the datacentre links (HMAC-SHA256): 32 characters at least, random, the same for
    the workers (which sign) and ``cephflow serve`` (which checks). Make one with
    ``python3 -c 'import secrets; print(secrets.token_urlsafe(32))'``; changing it voids the
    links already sent."""
    link_ttl: float = Field(default=24 * 3600.0, gt=0)
    """Seconds a datacentre link works after the message is sent."""

    @field_validator("link_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # cephflow never shows the value of a setting in its errors (settings_sources)
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("too short: 32 characters at least (make one with "
                             "python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
        return value


CLUSTER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
"""A configured cluster's name: it is part of Redis keys (locks) and of a Celery queue's name."""

CLUSTER_SECTIONS = ("ceph", "pacing", "alertmanager", "http_downtime", "smtp", "webhook")
"""The sections a cluster may set differently from the top level (merged key by key)."""


class ClusterSettings(BaseModel):
    """One named cluster (``[clusters.<name>]``): how to reach it and what differs for it.

    Every section here is merged key by key into the top-level one (``Settings.for_cluster``),
    so a cluster names only what differs (its ``ceph.conf``, its Alertmanager); a value it
    leaves out is the top level's. The fields below that are not sections are the cluster's
    own (a top-level field of the same name is the value of a cluster that sets none).
    """

    model_config = ConfigDict(extra="forbid")

    region: str | None = None
    """Where the cluster is (shown beside it); clusters of one region share a queue unless
    ``queue`` says otherwise, so a region's workers serve all of them."""
    queue: str | None = None
    """The Celery queue its steps go to (default ``<namespace>.region.<region>`` with a
    region, else ``<namespace>.cluster.<name>``): only workers that serve it run them."""
    lab: bool | None = None
    """A throwaway lab cluster (enables auto-approve); default: the top-level ``lab``."""
    max_workflows: int | None = Field(default=None, ge=0)
    """Workflows running on it at once (0: no limit; default: the top-level value)."""
    max_osd_draining: int | None = Field(default=None, ge=1)
    """OSDs draining on it at once (default: the top-level value)."""
    ceph: CephSettings | None = None
    pacing: PacingSettings | None = None
    alertmanager: AlertmanagerSettings | None = None
    http_downtime: HttpDowntimeSettings | None = None
    smtp: SmtpSettings | None = None
    webhook: WebhookSettings | None = None

    @field_validator("queue", "region")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    def overrides(self) -> dict[str, Any]:
        """What this cluster sets, as ``Settings.for_runbook``-style overrides: the sections
        with only the keys given, and the plain fields given (not ``region``/``queue``)."""
        given = self.model_dump(exclude_unset=True, exclude={"region", "queue"})
        return {name: value for name, value in given.items() if value is not None}


class Overlap(StrEnum):
    """What a schedule does at a fire time while its previous run has not ended."""

    SKIP = "skip"
    """Skip the fire (recorded as skipped): one run of a schedule at a time."""
    ALLOW = "allow"
    """Submit anyway; the runbook's ``locks`` still refuse a run that needs a held lock."""


_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class ScheduleSettings(BaseModel):
    """A periodic runbook (``[schedules.<name>]``), run by ``cephflow scheduler``.

    The cron expression is croniter's: five fields (minute hour day month weekday), and a
    sixth for seconds (``* * * * * */30``: every 30 seconds). Its times are read
    in ``timezone``, so ``0 2 * * *`` is 02:00 there, across daylight saving changes. The
    methods are pure: they answer for an epoch time given, and read no clock.
    """

    model_config = ConfigDict(extra="forbid")

    runbook: str = Field(min_length=1)
    """The runbook's name (looked up like ``cephflow run NAME``) or file."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Its params, as on the command line (``{host = "ceph-osd-17", pause = "5m"}``)."""
    cluster: str | None = None
    """The cluster it runs on (``[clusters.<name>]``; None: the default one)."""
    cron: str
    timezone: str = "UTC"
    """IANA time zone name the cron expression and the window are read in."""
    window: str | None = None
    """``HH:MM-HH:MM`` in ``timezone`` in which a run may start (may span midnight:
    ``22:00-04:00``); a fire time outside it is skipped. None: any time."""
    overlap: Overlap = Overlap.SKIP
    grace: float = Field(default=60.0, gt=0)
    """Seconds a fire time may be late (no scheduler was running) and still run; a later
    one is recorded as missed. Fire times missed while no scheduler ran are never caught up."""

    @field_validator("cron")
    @classmethod
    def _cron(cls, cron: str) -> str:
        from croniter import croniter  # lazy: 40 ms of import only schedules need

        if not croniter.is_valid(cron):
            raise ValueError(f"not a cron expression: {cron!r} (minute hour day month weekday, "
                             "and seconds as a sixth field)")
        return cron

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r} (an IANA name such as "
                             "'Europe/Berlin' or 'UTC')") from exc
        return name

    @field_validator("window")
    @classmethod
    def _window(cls, window: str | None) -> str | None:
        if window is None:
            return None
        match = _WINDOW.match(window.strip())
        if match is None:
            raise ValueError(f"not a window: {window!r} (HH:MM-HH:MM, such as '22:00-04:00')")
        start, end = window.strip().split("-")
        if start == end:
            raise ValueError(f"window {window!r} is empty (start and end are the same)")
        return window.strip()

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def next_after(self, epoch: float) -> float:
        """The first fire time strictly after ``epoch`` (epoch seconds)."""
        from croniter import croniter  # lazy: see _cron

        start = datetime.fromtimestamp(epoch, self.zone())
        return float(croniter(self.cron, start).get_next(float))

    def last_until(self, epoch: float) -> float:
        """The last fire time at or before ``epoch`` (fire times are whole seconds)."""
        from croniter import croniter  # lazy: see _cron

        start = datetime.fromtimestamp(math.floor(epoch) + 1, self.zone())
        return float(croniter(self.cron, start).get_prev(float))

    def in_window(self, epoch: float) -> bool:
        """Whether a run may start at ``epoch`` (always, without a window)."""
        if self.window is None:
            return True
        local = datetime.fromtimestamp(epoch, self.zone())
        minute = local.hour * 60 + local.minute
        start, end = (int(t[:2]) * 60 + int(t[3:]) for t in self.window.split("-"))
        if start < end:
            return start <= minute < end
        return minute >= start or minute < end


class Settings(BaseSettings):
    """Everything cephflow can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="CEPHFLOW_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    redis_url: str | None = None
    """Redis for state and broker; None starts a private redis-server under ``state_dir``.
    ``redis+sentinel://host1:26379,host2:26379/0?service=name`` follows the primary the
    sentinels name (``cephflow.sentinel_url``)."""
    redis_patience: float = Field(default=30.0, ge=0)
    """Seconds a command keeps trying an unreachable Redis before it gives up (exit status 5)."""
    redis_wait_replicas: int = Field(default=0, ge=0)
    """Replicas a task's fact, once-marker or memo must reach (``WAIT``, up to 1 s) before the
    task goes on: a failover then cannot lose the record of an effect made after it."""
    state_dir: Path = Field(default_factory=default_state_dir)
    runbook_dirs: list[Path] = Field(default_factory=list)
    """Extra directories searched for runbooks after the shipped ``runbooks/``."""
    namespace: str = "cephflow"
    """Prefix of every Redis key, so several installations can share one Redis."""
    lease_seconds: float = 60.0
    """A queued or running node whose lease is older than this is re-sent by the reconciler."""
    submit_grace_seconds: float = Field(default=300.0, gt=0)
    """A workflow still ``submitting`` this long after its submit began (its submit died
    between writing it and starting it) is finished by a worker's reconciler: started when
    every write arrived, removed (its audit record says so) when not."""
    poll_countdown: float = 2.0
    """Default delay between two checks of a waiting step."""
    cluster_name: str = "ceph"
    """The cluster's name: shown in the header of plans and the live tree, kept with each
    workflow, part of its lock keys. With ``[clusters]`` it is the chosen cluster's name
    (``for_cluster``); without, the one cluster's."""
    clusters: dict[str, ClusterSettings] = Field(default_factory=dict)
    """Named clusters (``[clusters.<name>]``, docs/clusters.md); empty: one cluster, reached
    with the settings above and named ``cluster_name``."""
    default_cluster: str | None = None
    """The cluster a command without ``--cluster`` means (default: the only one configured;
    with several and none named here, ``--cluster`` is required)."""
    max_workflows: int = Field(default=0, ge=0)
    """Workflows running on a cluster at once (0: no limit); a submit past it is refused
    naming the running ones (``WorkflowControl.start``)."""
    lab: bool = False
    """True when the configured cluster is a throwaway lab cluster (enables auto-approve)."""
    max_osd_draining: int = 10
    """At most this many OSDs of a host drain together (``ceph.drain_host``; like cephadm's
    ``max_osd_draining_count``); Ceph's ``ok-to-stop --max`` may allow fewer."""

    ceph: CephSettings = Field(default_factory=CephSettings)
    pacing: PacingSettings = Field(default_factory=PacingSettings)
    celery: CelerySettings = Field(default_factory=CelerySettings)
    alertmanager: AlertmanagerSettings = Field(default_factory=AlertmanagerSettings)
    http_downtime: HttpDowntimeSettings = Field(default_factory=HttpDowntimeSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    runbook_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per-runbook overrides of the sections above, keyed by runbook name (``for_runbook``)."""
    retention_days: float = 30.0
    """A finished workflow's state and events expire this long after it ends; its audit
    record (who, when, runbook, params, outcome) is kept for good."""
    history_max_entries: int = Field(default=100_000, gt=0)
    """The history (``cephflow history``: who ran, approved, rejected, cancelled, resumed
    what and when) keeps about this many entries, the oldest dropped first (Redis trims a
    stream in whole nodes, so a few more may stay); at about 300 bytes an entry, the
    default is some 30 MB."""
    task_modules: list[str] = Field(default_factory=lambda: ["cephflow.tasks"])
    """Modules (or packages: every module in them) a worker imports for its tasks; the
    engine names none itself. ``CEPHFLOW_EXTRA_TASK_MODULES`` (comma-separated) adds more."""
    schedules: dict[str, ScheduleSettings] = Field(default_factory=dict)
    """Periodic runbooks by name (``[schedules.<name>]``), fired by ``cephflow scheduler``
    (``docs/schedules.md``)."""

    _top: Settings | None = PrivateAttr(default=None)
    """The top-level settings this is a cluster's or runbook's copy of (None: it is them)."""
    _made: dict[str, Settings] = PrivateAttr(default_factory=dict)
    """The clusters' settings made from these (``for_cluster``)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _ConfigFileSource(settings_cls)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, url: str | None) -> str | None:
        """Refuse a URL redis-py cannot use now, not at the first command that connects.

        The messages never quote the URL: it may hold a password.
        """
        scheme, separator, _ = (url or "").partition("://")
        if url is not None and (not separator or scheme not in REDIS_SCHEMES):
            raise ValueError("must start with " + ", ".join(f"{s}://" for s in REDIS_SCHEMES))
        if url is not None and scheme == sentinel_url.SCHEME:
            sentinel_url.parse_sentinel_url(url)
        elif url is not None:
            _check_redis_query(scheme, urlsplit(url).query)
        return url

    @model_validator(mode="after")
    def _run_hooks(self) -> Settings:
        """Let the process's settings hooks adjust what was read (e.g. the lab's state file)."""
        settings = self
        for hook in _HOOKS:
            settings = hook(settings)
        return settings

    @field_validator("clusters")
    @classmethod
    def _cluster_names(cls, clusters: dict[str, ClusterSettings]) -> dict[str, ClusterSettings]:
        """A cluster's name is part of lock keys and of its queue's name."""
        for name in clusters:
            if not CLUSTER_NAME.fullmatch(name):
                raise ValueError(f"cluster name {name!r}: letters, digits, '_', '.' and '-' "
                                 "only, starting with a letter or digit")
        return clusters

    @field_validator("default_cluster")
    @classmethod
    def _default_cluster(cls, name: str | None, info: ValidationInfo) -> str | None:
        clusters = info.data.get("clusters") or {}
        if name is not None and name not in clusters:
            raise ValueError(f"names no cluster ({_known(clusters)})")
        return name

    def for_runbook(self, runbook: str) -> Settings:
        """These settings with ``runbook_overrides[runbook]`` merged in (self when none).

        A section (``smtp: {sender: ...}``) is merged key by key into the configured one, so
        an override names only what differs; a plain field is replaced. Raises ConfigError.
        """
        overrides = self.runbook_overrides.get(runbook)
        if not overrides:
            return self
        return self._merged(overrides, f"runbook_overrides.{runbook}", {})

    def _merged(self, overrides: dict[str, Any], where: str, also: dict[str, Any]) -> Settings:
        """A copy with ``overrides`` merged in (sections key by key) and ``also`` set: the one
        merge of runbook overrides and of a cluster's settings."""
        fields = type(self).model_fields
        update: dict[str, Any] = dict(also)
        for name, value in overrides.items():
            if name not in fields or name in _NOT_OVERRIDDEN:
                raise ConfigError(f"{where}: no setting {name!r}")
            current = getattr(self, name)
            try:
                if isinstance(current, BaseModel) and isinstance(value, dict):
                    merged = _deep_merge(current.model_dump(), value)
                    update[name] = type(current).model_validate(merged)
                else:
                    update[name] = TypeAdapter(fields[name].annotation).validate_python(value)
            except ValidationError as exc:
                raise ConfigError(f"{where}.{name}: {exc}") from exc
        copy = self.model_copy(update=update)
        copy._top = self._top if self._top is not None else self
        copy._made = {}
        return copy

    # -- clusters ---------------------------------------------------------------------------

    def cluster_names(self) -> list[str]:
        """The clusters these settings know: the configured ones, or the one cluster."""
        return list(self.clusters) or [self.cluster_name]

    def resolve_cluster(self, name: str | None = None) -> str:
        """The cluster ``name`` means (None: the default). Raises ConfigError for a name
        no cluster has, or for None when several clusters are configured and none is the
        default (and these settings are not one cluster's already)."""
        top = self._top or self
        if not top.clusters:
            if name is None or name == top.cluster_name:
                return top.cluster_name
            raise ConfigError(f"no cluster {name!r}: the one cluster is {top.cluster_name!r} "
                              "(no [clusters] in the settings)",
                              hint="configure it under [clusters.<name>] (docs/clusters.md)")
        if name is not None:
            if name not in top.clusters:
                raise ConfigError(f"no cluster {name!r} ({_known(top.clusters)})",
                                  hint=did_you_mean(name, list(top.clusters)))
            return name
        if self is not top and self.cluster_name in top.clusters:
            return self.cluster_name
        if top.default_cluster is not None:
            return top.default_cluster
        if len(top.clusters) == 1:
            return next(iter(top.clusters))
        raise ConfigError(f"several clusters are configured ({', '.join(top.clusters)}) and "
                          "none is the default: name one with --cluster",
                          hint="or set default_cluster in the settings")

    def for_cluster(self, name: str | None = None) -> Settings:
        """The settings of cluster ``name`` (None: the default, ``resolve_cluster``): its
        sections merged key by key into the top-level ones (as ``for_runbook`` merges),
        its own fields set, and ``cluster_name`` = its name. Always from the top-level
        settings, whichever cluster's these are; kept, so each is made once."""
        top = self._top or self
        name = top.resolve_cluster(name)
        if not top.clusters:
            return top
        made = top._made.get(name)
        if made is None:
            cluster = top.clusters[name]
            made = top._merged(cluster.overrides(), f"clusters.{name}", {"cluster_name": name})
            top._made[name] = made
        return made

    def cluster_queue(self, name: str) -> str | None:
        """The Celery queue of cluster ``name``'s steps; None without ``[clusters]`` (its
        steps then go where every step went: the namespace's queue)."""
        top = self._top or self
        cluster = top.clusters.get(name)
        if cluster is None:
            return None
        if cluster.queue:
            return cluster.queue
        if cluster.region:
            return f"{top.namespace}.region.{cluster.region}"
        return f"{top.namespace}.cluster.{name}"

    def served_clusters(self, names: list[str] | None) -> list[str] | None:
        """The clusters a worker started for ``names`` serves: every cluster whose steps go
        to the queue of one of them (clusters of one region share a queue, so a worker of
        the region serves them all). None (``names`` None, or no ``[clusters]``): every
        cluster. Raises ConfigError for a name no cluster has."""
        top = self._top or self
        if names is None:
            return None
        queues = {top.cluster_queue(top.resolve_cluster(name)) for name in names}
        if not top.clusters:
            return None
        return [c for c in top.clusters if top.cluster_queue(c) in queues]

    def cluster_queues(self) -> dict[str, str]:
        """Every configured cluster's queue (empty without ``[clusters]``)."""
        top = self._top or self
        return {name: q for name in top.clusters if (q := top.cluster_queue(name))}

    def runbook_search_path(self) -> list[Path]:
        """Directories searched for a runbook name, in order."""
        return [SHIPPED_RUNBOOKS, *self.runbook_dirs]


_NOT_OVERRIDDEN = frozenset({"runbook_overrides", "clusters", "default_cluster"})
"""Fields neither a runbook nor a cluster overrides: they say what is overridden."""


def _known(clusters: dict[str, ClusterSettings]) -> str:
    return "configured: " + ", ".join(clusters) if clusters else "no [clusters] configured"


def _check_redis_query(scheme: str, query: str) -> None:
    """Only TLS parameters, only on ``rediss://``, with files that exist and known values."""
    if "@" in query:  # the '?' was in the password: quoting a "parameter" would quote it
        raise ValueError("a '?' in the password must be written %3F (what follows it reads "
                         "as a query)")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in REDIS_TLS_PARAMETERS:
            raise ValueError(f"unknown query parameter {name!r} (a rediss:// URL may carry "
                             + ", ".join(REDIS_TLS_PARAMETERS) + ")")
        if scheme != "rediss":
            raise ValueError(f"{name} needs a rediss:// URL (TLS)")
        if name in _REDIS_TLS_FILES and not Path(value).is_file():
            raise ValueError(f"{name}: no such file: {value}")
        if name == "ssl_cert_reqs" and value.lower() not in _CERT_REQS:
            raise ValueError(f"ssl_cert_reqs must be one of {', '.join(_CERT_REQS)}")


def _deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class _ConfigFileSource(PydanticBaseSettingsSource):
    """The config file, read strictly; checks the ``CEPHFLOW_*`` variables on the way."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole table

    def __call__(self) -> dict[str, Any]:
        settings_sources.check_environment(os.environ, self.settings_cls)
        explicit = bool(os.environ.get(settings_sources.CONFIG_VARIABLE))
        return settings_sources.read_config_file(config_file(), explicit=explicit,
                                                 model=self.settings_cls)


SettingsHook = Callable[[Settings], Settings]
"""Adjusts a settings object right after it is read; returns it (or a changed copy)."""

_HOOKS: list[SettingsHook] = []


def add_settings_hook(hook: SettingsHook) -> None:
    """Run ``hook`` on every ``Settings`` built from now on in this process (once per hook).

    The cached ``get_settings()`` is dropped so the next call sees the hook's effect.
    """
    if hook not in _HOOKS:
        _HOOKS.append(hook)
        get_settings.cache_clear()


def load_settings() -> Settings:
    """Settings read from the environment and the config file; ConfigError when invalid."""
    try:
        return Settings()
    except ValidationError as exc:
        raise settings_sources.config_error(exc, config=config_file(), environ=os.environ) from exc
    except SettingsError as exc:  # a variable that should hold JSON (a list, a table) does not
        raise settings_sources.parse_error(exc) from exc


@lru_cache(maxsize=1)
def _process_settings() -> Settings:
    return load_settings()


_CHOSEN_CLUSTER: ContextVar[str | None] = ContextVar("cephflow_cluster", default=None)
"""The cluster chosen for what this context does (``use_cluster``); None: the top level."""


def get_settings() -> Settings:
    """The process-wide settings (tests call ``get_settings.cache_clear()`` after changing env),
    as the cluster chosen in this context sees them (``use_cluster``): a command on one
    cluster (``--cluster``) reads that cluster's ceph, monitoring and notification settings
    wherever it reads settings, without passing them down through every layer."""
    settings = _process_settings()
    chosen = _CHOSEN_CLUSTER.get()
    return settings if chosen is None else settings.for_cluster(chosen)


get_settings.cache_clear = _process_settings.cache_clear  # type: ignore[attr-defined]


def use_cluster(name: str | None) -> str:
    """Make ``get_settings()`` answer cluster ``name``'s settings (None: the default
    cluster) in this context from now on; returns the name. Raises ConfigError for an
    unknown name, or for None with several clusters and no default."""
    resolved = _chosen(name)
    _CHOSEN_CLUSTER.set(resolved if _process_settings().clusters else None)
    return resolved


def _chosen(name: str | None) -> str:
    """The cluster ``name`` means here: None keeps the one chosen in this context already."""
    if name is None and _CHOSEN_CLUSTER.get() is not None:
        return str(_CHOSEN_CLUSTER.get())
    return _process_settings().resolve_cluster(name)


@contextmanager
def cluster_scope(name: str | None) -> Iterator[str]:
    """``use_cluster(name)`` for the ``with`` block only (a request of the web API)."""
    resolved = _chosen(name)
    token = _CHOSEN_CLUSTER.set(resolved if _process_settings().clusters else None)
    try:
        yield resolved
    finally:
        _CHOSEN_CLUSTER.reset(token)
