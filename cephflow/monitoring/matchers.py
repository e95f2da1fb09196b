"""Matchers as a runbook writes them (``name="v"``, ``!=``, ``=~``, ``!~``) and as the API wants them."""

from __future__ import annotations

import re
from typing import Any

from cephflow.errors import MonitoringError

_MATCHER = re.compile(
    r"""^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|\S.*?)\s*$"""
)


def parse_matcher(text: str) -> dict[str, Any]:
    """``instance=~"osd-17.*"`` -> ``{"name": "instance", "value": "osd-17.*", "isRegex": True, "isEqual": True}``."""
    found = _MATCHER.match(text)
    if not found:
        raise MonitoringError(f"not a matcher: {text!r} (expected name=\"value\", !=, =~ or !~)")
    value = found["value"]
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
        if found["value"][0] == '"':
            value = re.sub(r"\\(.)", r"\1", value)
    op = found["op"]
    if not value and op in ("=", "=~"):
        raise MonitoringError(f"matcher {text!r} would match every alert without that label")
    return {"name": found["name"], "value": value, "isRegex": "~" in op, "isEqual": op[0] == "="}


def normalise(matchers: list[str] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Strings or dicts -> API matcher dicts; at least one matcher that selects something."""
    result = []
    for m in matchers:
        if isinstance(m, str):
            result.append(parse_matcher(m))
        elif isinstance(m, dict) and "name" in m and "value" in m:
            result.append({
                "name": str(m["name"]),
                "value": str(m["value"]),
                "isRegex": bool(m.get("isRegex", False)),
                "isEqual": bool(m.get("isEqual", True)),
            })
        else:
            raise MonitoringError(f"not a matcher: {m!r}")
    if not any(m["isEqual"] for m in result):
        raise MonitoringError("a downtime needs at least one = or =~ matcher (it would silence everything)")
    return result


def show(matcher: dict[str, Any]) -> str:
    """The matcher as a runbook writes it."""
    op = {(True, False): "=", (True, True): "=~", (False, False): "!=", (False, True): "!~"}[
        (bool(matcher["isEqual"]), bool(matcher["isRegex"]))
    ]
    value = matcher["value"].replace("\\", "\\\\").replace('"', '\\"')
    return f'{matcher["name"]}{op}"{value}"'
