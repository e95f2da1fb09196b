"""The jinja2 environment every template in cephflow renders in, wherever it comes from.

Runbook values (compiled), notification texts (rendered by the worker when the step runs)
and the generic downtime backend's URLs and bodies all render here: jinja2's sandbox keeps
Python internals (``__class__``, ``__globals__``) out of reach, and this subclass also
refuses the ``*`` and ``**`` that would build a string or a number too large for a worker's
memory (``{{ 'x' * 10**9 }}``).
"""

from __future__ import annotations

from typing import Any

from jinja2.sandbox import SandboxedEnvironment, SecurityError

MAX_SIZE = 100_000
"""Longest text or list a template may build with ``*``, and largest power ``**`` may give."""


class Sandbox(SandboxedEnvironment):
    """The jinja2 sandbox, also refusing ``*`` and ``**`` that would exhaust memory."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int) \
                        and len(seq) * count > MAX_SIZE:
                    raise SecurityError(f"'*' would build more than {MAX_SIZE} items")
        if operator == "**" and isinstance(left, int | float) and isinstance(right, int | float):
            if abs(right) > 64 and abs(left) > 1:
                raise SecurityError("'**' with an exponent above 64 is not allowed")
        return super().call_binop(context, operator, left, right)
