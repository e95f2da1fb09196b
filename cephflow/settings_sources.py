"""Strict reading of what configures cephflow: the config file and ``CEPHFLOW_*`` variables.

A typo in a setting must not be ignored: ``[ceph] ssh_hots = "admin"`` would run ``ceph``
locally instead of on the admin host. So every key of the config file (in every section,
``runbook_overrides`` included) and every ``CEPHFLOW_*`` environment variable must name a
setting, or be one of ``VARIABLES`` (the variables cephflow reads besides its settings, the
one list of them); anything else is a ``ConfigError`` with a did-you-mean, or, for a setting
that was removed (``RETIRED``), what replaced it. A config file named by ``CEPHFLOW_CONFIG``
must exist; one with a TOML syntax error is reported with its line. This module knows
settings only as pydantic models handed to it (and the names in ``RETIRED``), so
``settings.py`` can use it without a cycle.
"""

from __future__ import annotations

import re
import tomllib
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cephflow.errors import ConfigError
from cephflow.suggest import did_you_mean

PREFIX = "CEPHFLOW_"
NESTED = "__"
CONFIG_VARIABLE = "CEPHFLOW_CONFIG"
EXTRA_TASK_MODULES_VARIABLE = "CEPHFLOW_EXTRA_TASK_MODULES"
WORKER_CLUSTERS_VARIABLE = "CEPHFLOW_WORKER_CLUSTERS"
TEST_SWITCHES = {"CEPHFLOW_REGEN_GOLDEN": "the test suite's switch: rewrite golden files"}
"""Variables that steer cephflow's own test suite, not cephflow: allowed, never read."""
VARIABLES: dict[str, str] = {
    CONFIG_VARIABLE: "the config file (default ~/.config/cephflow/config.toml)",
    EXTRA_TASK_MODULES_VARIABLE: "more task modules for a worker, comma-separated",
    WORKER_CLUSTERS_VARIABLE: "the clusters a worker serves (cephflow worker --cluster), "
                              "comma-separated",
    **TEST_SWITCHES,
}
"""Every ``CEPHFLOW_*`` variable that is not a setting, with what it is for."""
VARIABLE_PREFIXES: dict[str, str] = {
    "CEPHFLOW_PARAM_": "the value of a secret runbook param (CEPHFLOW_PARAM_<NAME>)",
}
"""Families of variables whose names the user completes."""
OVERRIDES = "runbook_overrides"
RETIRED: dict[str, str] = {
    "ceph.ssh_auto_add_host_keys":
        "it trusted every unknown SSH host key; it is replaced by ceph.ssh_trust_new_host_keys, "
        'the hosts whose new key may be trusted on first use: ssh_trust_new_host_keys = '
        '["osd-host-7"]',
}
"""Settings that existed once (dotted name) and what replaced them: a config that still
names one is refused with this hint, not a mere did-you-mean."""


def _section(annotation: Any) -> type[BaseModel] | None:
    """The model of a settings section (``ceph``, ``smtp``, ...), None for a plain value (or
    a table of sections: ``_table_of``)."""
    if typing.get_origin(annotation) is dict:
        return None
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _table_of(annotation: Any) -> type[BaseModel] | None:
    """The model of each entry of a table of sections named by the user (``api.tokens``:
    ``[api.tokens.<name>]``), None for anything else."""
    if typing.get_origin(annotation) is not dict:
        return None
    value = typing.get_args(annotation)[1]
    return value if isinstance(value, type) and issubclass(value, BaseModel) else None


def setting_variables(model: type[BaseModel], prefix: str = PREFIX) -> Iterator[str]:
    """Every environment variable that sets a field of ``model`` (sections use ``__``)."""
    for name, info in model.model_fields.items():
        variable = f"{prefix}{name.upper()}"
        yield variable
        section = _section(info.annotation)
        if section is not None:
            yield from setting_variables(section, variable + NESTED)


def allowed_variable(name: str, model: type[BaseModel]) -> bool:
    """Whether ``name`` is a variable cephflow knows (a setting, or one of ``VARIABLES``)."""
    if name in VARIABLES or any(name.startswith(p) for p in VARIABLE_PREFIXES):
        return True
    return name in set(setting_variables(model))


def _variable(dotted: str) -> str:
    return PREFIX + NESTED.join(part.upper() for part in dotted.split("."))


def check_environment(environ: Mapping[str, str], model: type[BaseModel]) -> None:
    """Raise ConfigError for the first ``CEPHFLOW_*`` variable that names nothing."""
    known = [*setting_variables(model), *VARIABLES]
    retired = {_variable(dotted): dotted for dotted in RETIRED}
    for name in sorted(environ):
        if name in retired:
            raise ConfigError(f"setting {retired[name]} no longer exists", where=name,
                              hint=RETIRED[retired[name]])
        if name.startswith(PREFIX) and not allowed_variable(name, model):
            raise ConfigError(
                f"unknown environment variable {name}", where="environment",
                hint=did_you_mean(name, known) or f"unset it; settings are {PREFIX}<NAME> "
                f"and {PREFIX}<SECTION>{NESTED}<NAME>",
            )


def read_config_file(path: Path, *, explicit: bool, model: type[BaseModel]) -> dict[str, Any]:
    """The config file's table, every key checked against ``model``; {} when there is none.

    Raises ConfigError when an explicit path does not exist, the file cannot be read, is no
    valid TOML, or holds a key that is no setting.
    """
    if not path.exists():
        if explicit:
            raise ConfigError("config file does not exist", where=f"{CONFIG_VARIABLE}={path}",
                              hint=f"create it, or unset {CONFIG_VARIABLE}")
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config file: {exc}", where=str(path)) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, line = _toml_message(str(exc))
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(f"config file is not valid TOML: {message}", where=where,
                          hint="see https://toml.io for the syntax") from exc
    for table, key, candidates in _unknown_keys(data, model.model_fields, ()):
        dotted = ".".join((*table, key))
        line = _line_of(text, table, key)
        where = f"{path}:{line}" if line else str(path)
        setting = table[2:] if table[:1] == (OVERRIDES,) else table
        replaced = RETIRED.get(".".join((*setting, key)))
        if replaced:
            raise ConfigError(f"setting {dotted!r} no longer exists", where=where, hint=replaced)
        raise ConfigError(f"unknown setting {dotted!r}", where=where,
                          hint=did_you_mean(key, candidates) or "remove it, or fix its name")
    return data


def _unknown_keys(data: Mapping[str, Any], fields: Mapping[str, Any],
                  table: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str, list[str]]]:
    """Every key of ``data`` (and of its sections, and of each runbook's overrides) that
    ``fields`` does not declare, with the table it sits in and the names it could have meant."""
    for key, value in data.items():
        if key not in fields:
            yield table, key, list(fields)
            continue
        section = _section(fields[key].annotation)
        entries = _table_of(fields[key].annotation)
        if section is not None and isinstance(value, dict):
            yield from _unknown_keys(value, section.model_fields, (*table, key))
        elif entries is not None and isinstance(value, dict):
            for name, entry in value.items():
                if isinstance(entry, dict):
                    yield from _unknown_keys(entry, entries.model_fields, (*table, key, name))
        elif key == OVERRIDES and not table and isinstance(value, dict):
            allowed = {k: v for k, v in fields.items() if k != OVERRIDES}
            for runbook, overrides in value.items():
                if isinstance(overrides, dict):
                    yield from _unknown_keys(overrides, allowed, (key, runbook))


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)\s*$")
_TABLE = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")


def _toml_message(text: str) -> tuple[str, int | None]:
    match = _TOML_POSITION.search(text)
    if match is None:
        return text, None
    return text[: match.start()], int(match.group(1))


def _line_of(text: str, table: tuple[str, ...], key: str) -> int | None:
    """The line of ``key`` in ``[table]`` (or as ``table.key`` above it); None if not found."""
    current: tuple[str, ...] = ()
    dotted = re.compile(r'^\s*"?' + re.escape(".".join((*table, key))) + r'"?\s*=')
    plain = re.compile(r'^\s*"?' + re.escape(key) + r'"?\s*=')
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header:
            current = tuple(part.strip().strip('"') for part in header.group(1).split("."))
            if current[: len(table) + 1] == (*table, key):  # the key is a table: [cephx]
                return number
            continue
        if (current == table and plain.match(line)) or (not current and dotted.match(line)):
            return number
    return None


def config_error(exc: ValidationError, *, config: Path, environ: Mapping[str, str]) -> ConfigError:
    """A ValidationError of the settings as a ConfigError naming the variable or file line.

    The value itself is not shown: it may be a secret.
    """
    error = exc.errors()[0]
    path = tuple(str(part) for part in error["loc"])
    dotted = ".".join(path)
    variable = PREFIX + NESTED.join(part.upper() for part in path)
    if variable in environ:
        where = variable
    else:
        line = _line_of(_text(config), path[:-1], path[-1]) if path else None
        where = f"{config}:{line}" if line else str(config)
    message = str(error["msg"]).removeprefix("Value error, ")
    return ConfigError(f"setting {dotted}: {message}", where=where,
                       hint=f"fix the value of {dotted}")


_FIELD = re.compile(r'field "(\w+)"')


def parse_error(exc: Exception) -> ConfigError:
    """A variable that should hold JSON (a list, a table) and does not, as a ConfigError."""
    match = _FIELD.search(str(exc))
    name = match.group(1) if match else None
    return ConfigError(
        f"setting {name}: not valid JSON" if name else str(exc),
        where=PREFIX + name.upper() if name else "environment",
        hint="""lists and tables are JSON: CEPHFLOW_RUNBOOK_DIRS='["/srv/runbooks"]'""",
    )


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
