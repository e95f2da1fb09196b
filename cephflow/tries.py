"""The retry policy of every call cephflow makes to a server of the operators' (not Ceph's).

Email, webhooks and the monitoring systems try ``attempts`` times in all, waiting ``backoff``
x 2^n seconds (at most 10 s) between tries, and only after a failure their ``transient``
predicate calls worth another try; anything else is raised at once. Each names the number of
tries in its receipt or its error, so ``Tries`` counts them even when the last one raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

T = TypeVar("T")

MAX_WAIT = 10.0
"""Seconds: the longest wait between two tries, whatever the backoff."""


class Tries:
    """Runs one delivery with retries; ``count`` is how many tries it took (or has taken)."""

    def __init__(self, *, attempts: int, backoff: float,
                 transient: Callable[[BaseException], bool]):
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.transient = transient
        self.count = 0

    def run(self, send: Callable[[], T]) -> T:
        """``send()`` until it returns, fails for good, or the tries are used up (re-raised)."""

        def counted() -> T:
            self.count += 1
            return send()

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff, max=MAX_WAIT),
            retry=retry_if_exception(self.transient),
            reraise=True,
        )
        return retrying(counted)
