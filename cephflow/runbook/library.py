"""Find runbooks by name or path, and load one file into a validated model.

A runbook NAME is looked up as ``<dir>/<NAME>.yaml`` (or ``.yml``) in each directory of the
search path in order (the shipped ``runbooks/`` first, then ``settings.runbook_dirs``).
Anything that looks like a path (has a ``/`` or ends in ``.yaml``/``.yml``) is a path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cephflow.errors import Problem, RunbookError, RunbookNotFound
from cephflow.runbook import model
from cephflow.runbook.yamlpos import Doc, load_text
from cephflow.suggest import did_you_mean

SUFFIXES = (".yaml", ".yml")

MAX_BYTES = 1024 * 1024
"""Largest runbook file read (each include too): runbooks are a few kilobytes, and parsing
tens of megabytes of YAML with positions takes minutes and gigabytes before any check runs."""


@dataclass
class Loaded:
    """One runbook file, parsed and validated: its path, positions and model."""

    path: Path
    """Resolved path (identity for include cycles)."""
    file: str
    """The path as shown in messages (relative to the working directory where possible)."""
    doc: Doc
    decl: model.RunbookDecl
    problems: list[Problem] = field(default_factory=list)
    """Schema problems of a leniently loaded file (``decl`` then holds its valid entries)."""
    broken: set[str] = field(default_factory=set)
    """Names of the params, lookups and steps left out of ``decl`` because they are invalid."""
    places: dict[str, list[int]] = field(default_factory=dict)
    """Section -> document index of each step of ``decl`` (they differ once one is left out)."""

    def step_path(self, section: str, i: int) -> tuple[str, int]:
        """Where step ``i`` of ``decl``'s ``section`` (``steps``/``finally``) is in the file."""
        places = self.places.get(section)
        return (section, places[i] if places else i)


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def looks_like_path(name: str) -> bool:
    return "/" in name or name.endswith(SUFFIXES) or name.startswith(".")


def available(search_path: list[Path]) -> dict[str, Path]:
    """Runbook name -> file, the first directory of the search path winning."""
    found: dict[str, Path] = {}
    for directory in search_path:
        if not directory.is_dir():
            continue
        for entry in sorted(directory.iterdir()):
            if entry.suffix in SUFFIXES and entry.is_file():
                found.setdefault(entry.stem, entry)
    return found


def _shown(name: str, limit: int = 120) -> str:
    """``name`` quoted for an error line, cut to ``limit`` characters (a path may be huge)."""
    return repr(name) if len(name) <= limit else repr(name[:limit]) + f"... ({len(name)} characters)"


def find(name: str, search_path: list[Path], *, relative_to: Path | None = None) -> Path:
    """The file of runbook ``name`` (a name or a path); RunbookNotFound otherwise."""
    if looks_like_path(name):
        candidates = [Path(name)]
        if relative_to is not None and not Path(name).is_absolute():
            candidates.insert(0, relative_to / name)
        for candidate in candidates:
            try:
                if candidate.is_file():
                    return candidate.resolve()
                if candidate.exists():  # a FIFO or a device would block or never end
                    kind = "a directory" if candidate.is_dir() else "not a regular file"
                    raise RunbookNotFound(f"{_shown(name)} is {kind}, not a runbook file")
            except OSError as exc:  # a name too long for the file system, a loop of links
                raise RunbookNotFound(f"no runbook file {_shown(name)}: {exc.strerror}") from exc
        raise RunbookNotFound(f"no runbook file {_shown(name)}")
    directories = ([relative_to] if relative_to is not None else []) + list(search_path)
    for directory in directories:
        for suffix in SUFFIXES:
            candidate = directory / f"{name}{suffix}"
            if candidate.is_file():
                return candidate.resolve()
    names = available(search_path)
    hint = did_you_mean(name, names)
    raise RunbookNotFound(f"no runbook named {name!r}", name=name, hint=hint)


def read(path: Path, *, max_bytes: int = MAX_BYTES) -> tuple[Doc, list[Problem], str]:
    """Load the YAML of ``path`` with positions (no schema yet).

    At most ``max_bytes`` are read: a larger file is a problem before any parsing, so a
    runaway file costs no more than the cap to reject.
    """
    file = display_path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            message = f"runbook file is larger than the {_size(max_bytes)} limit"
            return Doc(file, None), [Problem(file, 1, 1, message)], file
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        return Doc(file, None), [Problem(file, 1, 1, f"not UTF-8 text: {exc.reason}")], file
    except OSError as exc:
        return Doc(file, None), [Problem(file, 1, 1, f"cannot read: {exc.strerror}")], file
    doc, problems = load_text(text, file)
    return doc, problems, file


def _size(n: int) -> str:
    """``n`` bytes as an operator reads it: ``1 MiB``, ``64 KiB``, ``100 bytes``."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"


def load(path: Path, *, strict: bool = True) -> Loaded:
    """Read and validate one runbook file; RunbookError with every problem found.

    ``strict=False`` returns a file whose YAML parses even when some entries are invalid:
    its ``decl`` holds the valid ones and ``problems`` the rest, so the caller can check the
    valid part too and report everything at once.
    """
    path = path.resolve()
    doc, problems, file = read(path)
    if problems:
        raise RunbookError(problems)
    parsed = model.parse(doc)
    if parsed.decl is None or (strict and parsed.problems):
        raise RunbookError(parsed.problems)
    return Loaded(path=path, file=file, doc=doc, decl=parsed.decl, problems=parsed.problems,
                  broken=parsed.broken, places=parsed.places)
