"""Views as text: render a renderable on a recording console, and a golden text as a test writes it.

Shared by the view and follower tests, so they compare against the same rendering.
"""

from __future__ import annotations

import textwrap

from rich.console import Console


def render(renderable, width: int = 80) -> str:
    console = Console(color_system=None, width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


def golden(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")
