"""How a value of the wrong type is described to an operator, wherever pydantic checked it.

The runbook's own keys (``model``) and a step's arguments (``args``) are both validated by
pydantic; both say ``'count': expected an integer, got 'three'`` in the same words because
the words live here.
"""

from __future__ import annotations

from typing import Any

EXPECTED = {
    "string_type": "expected text",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
}
"""pydantic error type -> what was expected, in an operator's words."""

SHOWN_CHARS = 40
"""A value quoted in a message is cut to this many characters, so one line stays one line."""


def shown(value: Any) -> str:
    """``repr(value)``, cut with ``...`` beyond ``SHOWN_CHARS``."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 3] + "..."
