"""The commands cephflow tells a person to type, spelt in one place.

A gate's progress line, its email, the live tree and a detached follower all print
``cephflow approve ...`` or ``cephflow status ...``; the tree leaves its own hint out when the
gate's line already holds the same command, which only works while both are built here.
Ids are shell-quoted so that a fan-out id like ``gate[osd.4]`` survives a copy and paste.
"""

from __future__ import annotations

import shlex


def approve_command(workflow_id: str, node_id: str) -> str:
    """What an approver types to open the gate ``node_id``."""
    return f"cephflow approve {shlex.quote(workflow_id)} {shlex.quote(node_id)}"


def reject_command(workflow_id: str, node_id: str) -> str:
    """What an approver types to refuse the gate ``node_id`` (``--reason`` goes after it)."""
    return f"cephflow reject {shlex.quote(workflow_id)} {shlex.quote(node_id)}"


def status_command(workflow_id: str, node_id: str | None = None) -> str:
    """How to (re-)attach to a workflow, or read one step of it whole."""
    command = f"cephflow status {shlex.quote(workflow_id)}"
    return f"{command} --step {shlex.quote(node_id)}" if node_id is not None else command
