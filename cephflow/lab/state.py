"""The lab's state file: while it exists, the lab is the cluster cephflow talks to.

``cephflow lab up`` writes ``<state_dir>/lab/lab.json`` (the lab's ceph.conf, directory and
ports); ``cephflow lab down`` removes it. Whoever starts a cephflow process (the CLI, the
worker app) calls ``use_lab_state()``: from then on every ``Settings`` applies the file
(``apply_lab_state``), so every command, worker and task sees the lab with ``lab = True`` and
the ``lab`` host backend, unless a cluster was configured explicitly: explicit configuration
always wins, field by field.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from cephflow.settings import Settings, add_settings_hook


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


CLUSTER_FIELDS = ("conf", "lab_dir", "hosts_backend", "ssh_host")
"""The ``ceph`` settings that say which cluster cephflow acts on."""


def apply_lab_state(settings: Settings) -> Settings:
    """Point ``settings`` at the running lab where nothing explicit says otherwise.

    Explicit configuration always wins, field by field: a setting given by an environment
    variable, the config file or the caller is never changed. And the lab is one cluster: when
    an explicit setting names another one (another ``ceph.conf`` or lab directory, another
    host backend, an SSH admin host), the state file is not applied at all, so Ceph commands
    and host operations can never be split between the lab and another cluster.
    """
    state = read_state(settings.state_dir)
    if state is None:
        return settings
    ceph = settings.ceph
    wanted = {"conf": state.conf, "lab_dir": state.dir, "hosts_backend": "lab", "ssh_host": None}
    explicit = {name for name in CLUSTER_FIELDS if name in ceph.model_fields_set}
    if any(not _same(getattr(ceph, name), wanted[name]) for name in explicit):
        return settings
    for name in CLUSTER_FIELDS:
        if name not in explicit:
            setattr(ceph, name, wanted[name])
    if "lab" not in settings.model_fields_set:
        settings.lab = True
    return settings


def use_lab_state() -> None:
    """Make every ``Settings`` this process builds from now on honour the lab's state file."""
    add_settings_hook(apply_lab_state)


def _same(given: object, lab: object) -> bool:
    if isinstance(given, Path | str) and isinstance(lab, Path):
        return Path(given).resolve() == lab.resolve()
    return given == lab
