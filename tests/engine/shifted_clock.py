"""Test-only: shift this process's wall clock (``time.time``) by ``TEST_CLOCK_SHIFT_SECONDS``
seconds, to play a host whose clock is off.

A worker imports it as one of its task modules (``CEPHFLOW_EXTRA_TASK_MODULES``) at
``worker_init``: in its main process before the pool forks, so the reconciler and the
heartbeat (main process) and the runs (pool children) all see the shifted clock. libfaketime
would be the faithful tool, but under it Python 3.11 hangs in ``threading.Event.wait`` (its
faked ``CLOCK_MONOTONIC`` never reaches the deadline) and, with the monotonic clock left
alone, ``time.sleep`` fails with EINVAL: a Celery worker cannot run under it.
"""

from __future__ import annotations

import os
import time

SHIFT_VARIABLE = "TEST_CLOCK_SHIFT_SECONDS"

_shift = float(os.environ.get(SHIFT_VARIABLE) or 0)
if _shift:
    _real_time = time.time
    time.time = lambda: _real_time() + _shift  # type: ignore[assignment]
