"""Failed logins, counted per client address: past the limit, the address waits.

A token is 32 random bytes, so guessing one is hopeless anyway; the limit keeps a client
that tries from costing the server, and makes a misconfigured bot visible (429, not an
endless stream of 401s). Counted in the process (one ``cephflow serve``): a sliding window
of the failures' times per address, dropped once they are older than the window.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class FailureLimit:
    def __init__(self, per_window: int, window: float = 60.0,
                 clock=time.monotonic) -> None:
        self.per_window = per_window
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failures.setdefault(address, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked_for(self, address: str) -> float:
        """Seconds ``address`` must still wait (0: it may try)."""
        with self._lock:
            now = self.clock()
            times = self._recent(address, now)
            if len(times) < self.per_window:
                if not times:
                    self._failures.pop(address, None)
                return 0.0
            return times[-self.per_window] + self.window - now

    def failed(self, address: str) -> None:
        with self._lock:
            self._recent(address, self.clock()).append(self.clock())
