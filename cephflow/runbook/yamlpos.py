"""Read YAML safely and keep where every key and value came from.

``yaml.safe_load`` forgets positions, and a runbook error without a line number is a riddle.
So we compose the node tree with PyYAML's ``SafeLoader`` and build plain Python data from it
ourselves, recording the (line, column) of every mapping key and every value by its *path*
(``("steps", 2, "with", "osd")``). Later stages (schema, compiler) report problems by path
and ``Doc.where`` turns the path into a position.

Only the safe, JSON-like subset is built: mappings (string keys), sequences, and the scalars
null, bool, int, float and str. Timestamps and binaries stay the text they were written as;
any other tag (``!!python/object``, ``!foo``) is a problem, never constructed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from cephflow.errors import Problem

Path = tuple[Any, ...]

_MAX_NODES = 200_000
"""Upper bound on built values: alias bombs ("billion laughs") stop here with a problem."""

_SCALAR_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:str",
}
_TEXT_TAGS = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary", "tag:yaml.org,2002:value"}
_MAP_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:omap", "tag:yaml.org,2002:set"}
_SEQ_TAGS = {"tag:yaml.org,2002:seq", "tag:yaml.org,2002:pairs"}


@dataclass
class Doc:
    """A loaded YAML document: plain data plus the position of everything in it."""

    file: str
    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    """Path -> (line, column) of the value, both 1-based."""
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    """Path -> (line, column) of the mapping key that holds the value at that path."""

    def where(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Position of ``path`` (its key if ``key``), else of the nearest ancestor."""
        path = tuple(path)
        while True:
            table = self.keys if key else self.values
            if path in table:
                return table[path]
            if key and path in self.values:
                return self.values[path]
            if not path:
                return (1, 1)
            path = path[:-1]

    def problem(self, path: Path, message: str, *, key: bool = False, hint: str | None = None) -> Problem:
        line, column = self.where(path, key=key)
        return Problem(self.file, line, column, message, hint)


class _Builder:
    """Turns a composed node tree into plain data, recording positions and problems."""

    def __init__(self, doc: Doc):
        self.doc = doc
        self.problems: list[Problem] = []
        self.constructor = yaml.SafeLoader("")
        self.count = 0
        self.active: set[int] = set()

    def _pos(self, node: Node) -> tuple[int, int]:
        return (node.start_mark.line + 1, node.start_mark.column + 1)

    def _problem(self, node: Node, message: str) -> None:
        line, column = self._pos(node)
        self.problems.append(Problem(self.doc.file, line, column, message))

    def build(self, node: Node, path: Path) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            raise _TooBig(node)
        self.doc.values[path] = self._pos(node)
        if id(node) in self.active:
            self._problem(node, "recursive YAML alias")
            return None
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                if node.tag not in _SEQ_TAGS:
                    self._problem(node, f"unsupported YAML tag {node.tag!r}")
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                if node.tag not in _MAP_TAGS:
                    self._problem(node, f"unsupported YAML tag {node.tag!r}")
                return self._mapping(node, path)
        finally:
            self.active.discard(id(node))
        self._problem(node, "unsupported YAML node")  # pragma: no cover - composer makes 3 kinds
        return None

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag in _TEXT_TAGS:
            return node.value
        if node.tag not in _SCALAR_TAGS:
            self._problem(node, f"unsupported YAML tag {node.tag!r}")
            return node.value
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self._problem(node, f"invalid value: {getattr(exc, 'problem', exc)}")
            return node.value
        if isinstance(value, float) and not math.isfinite(value):
            self._problem(node, f"number {node.value!r} is not finite")
            return node.value
        return value

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        try:
            self.constructor.flatten_mapping(node)  # resolve ``<<`` merge keys
        except yaml.YAMLError as exc:
            self._problem(node, f"invalid merge: {getattr(exc, 'problem', exc)}")
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._problem(key_node, "mapping keys must be plain words, not lists or mappings")
                continue
            key = key_node.value
            child = (*path, key)
            if key in result:
                self._problem(key_node, f"duplicate key {key!r}")
            self.doc.keys[child] = self._pos(key_node)
            result[key] = self.build(value_node, child)
        return result


class _TooBig(Exception):
    def __init__(self, node: Node):
        self.node = node


def load_text(text: str, file: str) -> tuple[Doc, list[Problem]]:
    """Parse ``text`` (the contents of ``file``) into a Doc; problems instead of exceptions."""
    doc = Doc(file=file, data=None)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and "end of stream" in (exc.problem or ""):
            mark = exc.context_mark  # an unclosed quote or bracket: point at where it opened
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        return doc, [Problem(file, line, column, f"YAML syntax: {message}")]
    except yaml.YAMLError as exc:
        line, column = _reader_position(text, exc)
        reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
        return doc, [Problem(file, line, column, f"YAML syntax: {reason}")]
    except RecursionError:
        return doc, [Problem(file, 1, 1, "YAML syntax: nested too deeply")]
    if root is None:
        return doc, [Problem(file, 1, 1, "the runbook is empty")]
    builder = _Builder(doc)
    try:
        doc.data = builder.build(root, ())
    except _TooBig as exc:
        line, column = builder._pos(exc.node)
        return doc, [Problem(file, line, column, "YAML document too large (alias expansion?)")]
    except RecursionError:
        return doc, [Problem(file, 1, 1, "YAML syntax: nested too deeply")]
    return doc, builder.problems


def _reader_position(text: str, exc: yaml.YAMLError) -> tuple[int, int]:
    """Line and column of a ReaderError (it carries a character offset, not a mark)."""
    offset = getattr(exc, "position", None)
    if not isinstance(offset, int):
        return (1, 1)
    before = text[:offset]
    breaks = [m.end() for m in _LINE_BREAK.finditer(before)]
    return (len(breaks) + 1, offset - (breaks[-1] if breaks else 0) + 1)


_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
"""What YAML counts as a line break (its marks count lines the same way)."""
