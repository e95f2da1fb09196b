"""Helpers of the fault tests: run the real `cephflow` entry point as a user would.

Each run is a subprocess with the test session's throwaway HOME and state dir (the root
conftest) and the test Redis named by URL and namespace, as tests/cli's end-to-end tests do.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping

from tests.fixtures.redis_server import NAMESPACE
from tests.paths import CEPHFLOW, REPO


def cephflow(args: list[str], redis_url: str, *, namespace: str = NAMESPACE,
             env: Mapping[str, str] | None = None, timeout: float = 60,
             cwd: os.PathLike | str = REPO) -> subprocess.CompletedProcess[str]:
    """``cephflow ARGS`` run to its end: its exit status, stdout and stderr."""
    full = dict(os.environ, CEPHFLOW_REDIS_URL=redis_url, CEPHFLOW_NAMESPACE=namespace,
                COLUMNS="200", NO_COLOR="1", **(env or {}))
    return subprocess.run([CEPHFLOW, *args], env=full, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    """The ``error:`` line of a refused command (and no traceback anywhere)."""
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]
