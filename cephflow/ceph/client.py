"""``CephClient``: the questions and changes cephflow asks of a cluster, as typed calls.

Reads go through ``reader`` (librados where available: sub-millisecond, good for polling),
changes through ``writer`` (the ``ceph`` CLI, locally or over SSH). Ceph's quirks are handled
here once, so tasks cannot forget them:

- ``ok-to-stop`` and ``safe-to-destroy`` answer "yes" for an OSD that does not exist: the
  client checks existence first and raises.
- ``safe-to-destroy -f json`` exits 0 when NOT safe: the answer is parsed, never the status.
- ``ceph status`` lags a change by ~2 s: waits compare PG reports with the change's osdmap
  epoch (``cephflow.tasks.ceph.common.settled``).
"""

from __future__ import annotations

import errno
import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from cephflow.ceph.backends import Backend
from cephflow.ceph.command import CephCommand, cmd
from cephflow.ceph.command_runner import CommandResult
from cephflow.ceph.models import (
    ClusterStatus,
    CrushRule,
    Health,
    OkToStop,
    OsdDump,
    OsdLatency,
    OsdMetadata,
    OsdTree,
    OsdUsage,
    PgList,
    SafeToDestroy,
    parse_osd_df,
    parse_osd_perf,
)
from cephflow.errors import CannotTellYet, CephError, CommandFailed, HostKeyError, TransportError


def _transient(exc: BaseException) -> bool:
    """A failure to run a read that is worth another try.

    Never: a wrong host key, a refused login, a missing binary (``transient = False``).
    """
    return (
        isinstance(exc, TransportError)
        and not isinstance(exc, HostKeyError)
        and getattr(exc, "transient", True)
    )


def _judged(result: CommandResult) -> CommandResult:
    """``result``, or ``CannotTellYet`` when Ceph answered a safety question with EAGAIN."""
    if result.status == errno.EAGAIN:
        detail = (result.stderr or result.stdout).strip() or "EAGAIN"
        raise CannotTellYet(f"Ceph cannot tell yet: {detail}")
    return result


T = TypeVar("T")

CLUSTER_FLAGS = frozenset(
    {"noout", "noin", "noup", "nodown", "nobackfill", "norebalance", "norecover", "noscrub",
     "nodeep-scrub", "pause"}
)


def understood(command: CephCommand, data: Any, parse: Callable[[Any], T]) -> T:
    """``parse(data)``; a CephError naming the command and quoting the answer when the answer
    has another shape than the one parsed (a Ceph release that changed it, something else
    answering), instead of a bare ``KeyError: 'osd'`` from inside a model that names neither.
    """
    try:
        return parse(data)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        snippet = json.dumps(data)[:200]
        raise CephError(f"ceph {' '.join(command.words)}: answer not understood "
                        f"({type(exc).__name__}: {exc}): {snippet}") from exc


class CephClient:
    """Typed access to one cluster through a read backend and a write backend."""

    def __init__(self, writer: Backend, reader: Backend | None = None, *, timeout: float = 120.0,
                 read_attempts: int = 3):
        self.writer = writer
        self.reader = reader or writer
        self.timeout = timeout
        self.read_attempts = read_attempts

    # -- plumbing ------------------------------------------------------------------------------
    def run(self, command: CephCommand) -> CommandResult:
        """Run a command (reads on the reader, changes on the writer); no status check.

        A read that could not be run (mon unreachable for a moment, SSH dropped) is tried
        again; a change never is: it may have been applied before the connection broke.
        """
        timeout = command.timeout or self.timeout
        if not command.readonly:
            return self.writer.execute(command, timeout=timeout)
        attempt = Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(self.read_attempts),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            reraise=True,
        )
        return attempt(self.reader.execute, command, timeout=timeout)

    def query(self, command: CephCommand) -> Any:
        """Run a read-only command and return its parsed JSON; non-zero exits raise."""
        return self.run(command).check().json()

    def read(self, command: CephCommand, parse: Callable[[Any], T]) -> T:
        """``parse`` of the read-only command's JSON answer (see ``understood``)."""
        return understood(command, self.query(command), parse)

    def change(self, command: CephCommand) -> CommandResult:
        """Run a command that changes the cluster; non-zero exits raise ``CommandFailed``."""
        return self.run(command).check()

    # -- reads ---------------------------------------------------------------------------------
    def health(self, *, detail: bool = True) -> Health:
        command = cmd("health", "detail", detail="detail") if detail else cmd("health")
        return self.read(command, Health.from_json)

    def status(self) -> ClusterStatus:
        return self.read(cmd("status"), ClusterStatus.from_json)

    def osd_tree(self) -> OsdTree:
        return self.read(cmd("osd tree"), OsdTree.from_json)

    def osd_df(self) -> dict[int, OsdUsage]:
        return self.read(cmd("osd df", target="mgr"), parse_osd_df)

    def osd_perf(self) -> dict[int, OsdLatency]:
        """``ceph osd perf``: each OSD's commit and apply latency (ms), from the mgr."""
        return self.read(cmd("osd perf", target="mgr"), parse_osd_perf)

    def osd_dump(self) -> OsdDump:
        return self.read(cmd("osd dump"), OsdDump.from_json)

    def epoch(self) -> int:
        """The current osdmap epoch: what a wait after a change compares against."""
        return self.osd_dump().epoch

    def osd_metadata(self, osd: int) -> OsdMetadata:
        return self.read(cmd("osd metadata", str(osd), id=osd), OsdMetadata.from_json)

    def pg_ls(self) -> PgList:
        return self.read(cmd("pg ls", target="mgr"), PgList.from_json)

    def osdmap_bytes(self) -> bytes:
        """The current binary OSD map (``ceph osd getmap``), as ``osdmaptool`` reads it.

        From the reader when it can hand back bytes, else from the writer (both backends
        can); a read, so tried again like the others.
        """
        command = cmd("osd getmap", json_output=False)
        backend = self.reader if hasattr(self.reader, "fetch_bytes") else self.writer
        attempt = Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(self.read_attempts),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            reraise=True,
        )
        result = attempt(backend.fetch_bytes, command, timeout=self.timeout)  # type: ignore[attr-defined]
        data = result.check().stdout
        if not data:
            raise CephError("ceph osd getmap: empty answer")
        return data

    def pg_ls_text(self) -> str:
        """``pg ls -f json`` as text: at 100,000 PGs (~240 MB) a reader that needs two
        fields of each PG scans it rather than parse it whole."""
        return self.run(cmd("pg ls", target="mgr")).check().stdout

    def osd_metadata_all(self) -> list[dict[str, Any]]:
        """``ceph osd metadata``: one mapping per OSD that reported (``id``, ``hostname``...)."""
        return list(self.query(cmd("osd metadata")))

    def config_dump(self) -> list[dict[str, Any]]:
        """``ceph config dump``: every value in the mon config DB (``section``, ``name``,
        ``value``, ``mask``)."""
        return list(self.query(cmd("config dump")))

    def crush_rules(self) -> dict[int, CrushRule]:
        rules = self.read(cmd("osd crush rule dump"), lambda data: [CrushRule.from_json(r) for r in data])
        return {r.id: r for r in rules}

    def _require_osds(self, osds: Iterable[int]) -> list[int]:
        ids = sorted({int(o) for o in osds})
        if not ids:
            raise CephError("no OSD ids given")
        dump = self.osd_dump()
        missing = [i for i in ids if not dump.exists(i)]
        if missing:
            raise CephError(
                f"OSD(s) {','.join(map(str, missing))} do not exist "
                "(Ceph would call them safe; cephflow refuses to guess)"
            )
        return ids

    def ok_to_stop(self, osds: Iterable[int], max: int | None = None) -> OkToStop:  # noqa: A002
        """Whether stopping these OSDs keeps every PG available (rc 16 means "no", not an error).

        With ``max``, Ceph answers with the largest set (up to ``max`` OSDs) containing the
        given ones, grown with their siblings under the same CRUSH host, that is ok to stop.
        """
        ids = self._require_osds(osds)
        extra: dict[str, Any] = {}
        words = [str(i) for i in ids]
        if max is not None:
            extra["max"] = int(max)
            words += ["--max", str(int(max))]
        command = cmd("osd ok-to-stop", *words, target="mgr", ids=[str(i) for i in ids], **extra)
        result = _judged(self.run(command))
        if result.status not in (0, errno.EBUSY) or not result.stdout.strip():
            result.check()
            raise CephError(f"osd ok-to-stop {ids}: empty answer")
        return understood(command, result.json(),
                          lambda data: OkToStop.from_json(data, explanation=result.stderr))

    def safe_to_destroy(self, osds: Iterable[int]) -> SafeToDestroy:
        """Whether destroying these OSDs loses no data (read the lists: the status is always 0)."""
        ids = self._require_osds(osds)
        command = cmd("osd safe-to-destroy", *map(str, ids), target="mgr", ids=[str(i) for i in ids])
        return understood(command, _judged(self.run(command)).check().json(), SafeToDestroy.from_json)

    def safe_to_destroy_explanation(self, osds: Iterable[int]) -> str:
        """Ceph's own words on why OSDs are (not) safe to destroy: the plain form's stderr."""
        ids = [str(i) for i in osds]
        result = self.run(
            CephCommand(("osd", "safe-to-destroy", *ids), {"ids": ids}, target="mgr",
                        prefix="osd safe-to-destroy", json_output=False)
        )
        return (result.stderr or result.stdout).strip()

    # -- changes -------------------------------------------------------------------------------
    def set_flag(self, flag: str) -> None:
        self.change(cmd("osd set", flag, key=flag, readonly=False, json_output=False))

    def unset_flag(self, flag: str) -> None:
        self.change(cmd("osd unset", flag, key=flag, readonly=False, json_output=False))

    def add_noout(self, osd: int) -> None:
        self.change(cmd("osd add-noout", f"osd.{osd}", ids=[f"osd.{osd}"], readonly=False,
                        json_output=False))

    def rm_noout(self, osd: int) -> None:
        self.change(cmd("osd rm-noout", f"osd.{osd}", ids=[f"osd.{osd}"], readonly=False,
                        json_output=False))

    def crush_reweight(self, item: str, weight: float) -> None:
        """Set the CRUSH weight of ``osd.N`` (or any item)."""
        # CRUSH keeps 16.16 fixed point and truncates: send the nearest representable value
        weight = round(float(weight) * 65536) / 65536
        self.change(cmd("osd crush reweight", item, repr(weight), name=item,
                        weight=float(weight), readonly=False, json_output=False))

    def set_device_class(self, osd: int, device_class: str) -> None:
        """Give ``osd`` the CRUSH device class ``device_class`` (replacing the one it has)."""
        self.change(cmd("osd crush rm-device-class", f"osd.{osd}", ids=[f"osd.{osd}"],
                        readonly=False, json_output=False))
        self.change(cmd("osd crush set-device-class", device_class, f"osd.{osd}",
                        **{"class": device_class}, ids=[f"osd.{osd}"], readonly=False,
                        json_output=False))

    def crush_reweight_subtree(self, bucket: str, weight: float) -> None:
        """Set the CRUSH weight of every OSD under ``bucket`` in one osdmap change."""
        weight = round(float(weight) * 65536) / 65536
        self.change(cmd("osd crush reweight-subtree", bucket, repr(weight), name=bucket,
                        weight=float(weight), readonly=False, json_output=False))

    def config_set(self, who: str, option: str, value: str) -> None:
        self.change(cmd("config set", who, option, str(value), who=who, name=option,
                        value=str(value), readonly=False, json_output=False))

    def config_rm(self, who: str, option: str) -> None:
        self.change(cmd("config rm", who, option, who=who, name=option, readonly=False,
                        json_output=False))

    def mark_out(self, osd: int) -> None:
        self.change(cmd("osd out", str(osd), ids=[str(osd)], readonly=False, json_output=False))

    def mark_in(self, osd: int) -> None:
        self.change(cmd("osd in", str(osd), ids=[str(osd)], readonly=False, json_output=False))

    def destroy(self, osd: int) -> None:
        """Mark an OSD destroyed, keeping its id and CRUSH place for a replacement.

        Without ``--force`` the mon itself checks safe-to-destroy again and refuses.
        """
        self.change(cmd("osd destroy", f"osd.{osd}", "--yes-i-really-mean-it", id=osd,
                        yes_i_really_mean_it=True, readonly=False, json_output=False))

    def purge(self, osd: int) -> None:
        """Remove an OSD entirely (CRUSH item, auth key, osdmap entry)."""
        self.change(cmd("osd purge", f"osd.{osd}", "--yes-i-really-mean-it", id=osd,
                        yes_i_really_mean_it=True, readonly=False, json_output=False))

    def crush_remove(self, name: str) -> None:
        self.change(cmd("osd crush remove", name, name=name, readonly=False, json_output=False))

    def crush_add_host(self, host: str, root: str = "default") -> None:
        """Create a host bucket under ``root`` (idempotent: an existing bucket is left alone)."""
        try:
            self.change(cmd("osd crush add-bucket", host, "host", name=host, type="host",
                            readonly=False, json_output=False))
        except CommandFailed as exc:
            if exc.status != errno.EEXIST:
                raise
        self.change(cmd("osd crush move", host, f"root={root}", name=host, args=[f"root={root}"],
                        readonly=False, json_output=False))
