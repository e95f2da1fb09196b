""""Did you mean ...?" hints for misspelt names (keys, tasks, steps, variables)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate to ``word``, or None when nothing is close."""
    names = sorted({c for c in candidates if isinstance(c, str)})
    matches = difflib.get_close_matches(str(word), names, n=1, cutoff=0.6)
    return f"did you mean {matches[0]!r}?" if matches else None
