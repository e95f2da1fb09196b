"""Where the test tasks (``tests/engine/tasks.py``) record what they did, for the tests to read.

A module of its own so that tests can build the keys without importing (and so registering)
the tasks themselves.
"""

from __future__ import annotations


def recorded(ns: str, wf: str, name: str) -> str:
    """``<ns>:test:<wf>:<name>``: ``runs``, ``order``, ``tries``, ``settings`` ..."""
    return f"{ns}:test:{wf}:{name}"
