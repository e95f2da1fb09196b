"""The predicted data movement of a plan, as lines under the plan's header (pure: JSON in).

Renders the ``ceph.movement`` lookup's answer (``discovered.<name>`` with ``kind:
"movement"``; its fields are listed in docs/ceph.md): the weight changes, how many PGs change
mapping and the bytes they hold, the fullest OSDs afterwards against ``nearfull`` /
``backfillfull``, and the ETA with the rate it assumes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text

from cephflow.ceph.movement import human_bytes, human_seconds

MOVEMENT_KIND = "movement"


def movements(discovered: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """The movement predictions among a plan's discover answers, by name."""
    return [(name, value) for name, value in discovered.items()
            if isinstance(value, Mapping) and value.get("kind") == MOVEMENT_KIND]


def _change(change: Mapping[str, Any]) -> str:
    parts = []
    if change.get("weight") is not None:
        parts.append(f"weight {change['weight']:g}")
    if change.get("out"):
        parts.append("out")
    return f"osd.{change['osd']} " + " and ".join(parts or ["unchanged"])


def render_movement(answer: Mapping[str, Any], *, fullest: int = 3) -> Text:
    """Five lines: the changes, PGs and bytes, the fullest OSDs after, the limits, the ETA."""
    text = Text()
    text.append("data movement", style="bold")
    text.append(f" (predicted from osdmap epoch {answer.get('epoch', '?')}): ", style="dim")
    text.append(", ".join(_change(c) for c in answer.get("changes", ())) or "no change")
    text.append(f"\n  {answer['pgs_moving']}/{answer['pgs_total']} PGs change mapping, "
                f"{human_bytes(answer['bytes_moving'])} in them, "
                f"{human_bytes(answer['bytes_to_copy'])} to copy")
    near, back = float(answer["nearfull_ratio"]), float(answer["backfillfull_ratio"])
    text.append("\n  fullest after: ")
    shown = list(answer.get("fullest_after", ()))[:fullest]
    for i, fill in enumerate(shown):
        if i:
            text.append(", ")
        ratio = float(fill["ratio_after"])
        style = "bold red" if ratio >= back else ("yellow" if ratio >= near else "")
        text.append(f"osd.{fill['osd']} {ratio:.1%}", style=style)
        text.append(f" (now {float(fill['ratio']):.1%})", style="dim")
    if not shown:
        text.append("no OSD reported usage", style="dim")
    text.append(f"\n  limits: nearfull {near:.0%}, backfillfull {back:.0%}", style="dim")
    if answer.get("over_nearfull"):
        text.append("; past nearfull after the move: "
                    + ", ".join(f"osd.{o}" for o in answer["over_nearfull"]), style="yellow")
    source = ("the recovery rate now" if answer.get("rate_source") == "recovery"
              else "the default rate: nothing recovers now")
    text.append(f"\n  ETA {human_seconds(answer['eta_seconds'])} at "
                f"{human_bytes(answer['rate_bytes_per_sec'])}/s ({source})")
    if answer.get("approximate"):
        text.append(f"\n  approximate: {answer['approximate']}", style="yellow")
    return text
