"""The lab's state file: while it exists, the lab is the cluster cephflow talks to.

``cephflow lab up`` writes ``<state_dir>/lab/lab.json`` (the lab's ceph.conf, directory and
ports); ``cephflow lab down`` removes it. ``Settings`` reads it (``apply_lab_state``) so every
command, worker and task sees the lab with ``lab = True`` and the ``lab`` host backend, unless
a cluster was configured explicitly (``ceph.conf`` set): explicit configuration always wins.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cephflow.settings import Settings


@dataclass(frozen=True)
class LabState:
    """Where a running lab cluster lives."""

    dir: Path
    conf: Path
    port_base: int
    pool: str
    started_at: float

    def to_json(self) -> str:
        data = asdict(self)
        data["dir"] = str(self.dir)
        data["conf"] = str(self.conf)
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LabState:
        data = json.loads(text)
        return cls(
            dir=Path(data["dir"]),
            conf=Path(data["conf"]),
            port_base=int(data["port_base"]),
            pool=data["pool"],
            started_at=float(data["started_at"]),
        )


def lab_root(state_dir: Path) -> Path:
    return Path(state_dir) / "lab"


def state_file(state_dir: Path) -> Path:
    return lab_root(state_dir) / "lab.json"


def read_state(state_dir: Path) -> LabState | None:
    path = state_file(state_dir)
    try:
        return LabState.from_json(path.read_text())
    except (OSError, ValueError, KeyError, TypeError):  # missing or damaged: no lab
        return None


def write_state(state_dir: Path, state: LabState) -> None:
    path = state_file(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.to_json())
    os.replace(tmp, path)


def clear_state(state_dir: Path) -> None:
    state_file(state_dir).unlink(missing_ok=True)


def apply_lab_state(settings: Settings) -> Settings:
    """Point ``settings`` at the running lab, unless a cluster is configured explicitly."""
    if settings.ceph.conf is not None and not settings.ceph.lab_dir:
        return settings
    state = read_state(settings.state_dir)
    if state is None:
        return settings
    if settings.ceph.conf is None:
        settings.ceph.conf = state.conf
    settings.ceph.lab_dir = state.dir
    settings.ceph.hosts_backend = "lab"
    settings.lab = True
    return settings
