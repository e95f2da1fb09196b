"""Helpers of the fault tests: run the real `cephflow` entry point as a user would.

Each run is a subprocess with the test session's throwaway HOME and state dir (the root
conftest) and the test Redis named by URL and namespace, as tests/cli's end-to-end tests do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.fixtures.redis_server import NAMESPACE
from tests.paths import CEPHFLOW, REPO


def cephflow(args: list[str], redis_url: str, *, namespace: str = NAMESPACE,
             env: Mapping[str, str] | None = None, timeout: float = 60,
             cwd: os.PathLike | str = REPO) -> subprocess.CompletedProcess[str]:
    """``cephflow ARGS`` run to its end: its exit status, stdout and stderr."""
    return subprocess.run([CEPHFLOW, *args], env=cephflow_env(redis_url, namespace, **(env or {})),
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)


def cephflow_env(redis_url: str, namespace: str = NAMESPACE, **more: str) -> dict[str, str]:
    """The environment of a ``cephflow`` run on the test Redis: wide, uncoloured output."""
    return dict(os.environ, CEPHFLOW_REDIS_URL=redis_url, CEPHFLOW_NAMESPACE=namespace,
                COLUMNS="200", NO_COLOR="1", **more)


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    """The ``error:`` line of a refused command (and no traceback anywhere)."""
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


FAKE_CEPH = """#!{python}
import json, os, sys
with open("/proc/%d/comm" % os.getppid()) as comm:
    parent = comm.read().strip()
with open({log!r}, "a", encoding="utf-8") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "parent": parent}}) + "\\n")
answers = json.loads({answers!r})
words, skip = [], False
for arg in sys.argv[1:]:
    if skip or arg[:1].isdigit():
        skip = False
        continue
    skip = arg in ("-c", "--connect-timeout", "-f", "--max")
    if not skip:
        words.append(arg)
words = " ".join(words)
status, out, err = answers.get(words, [0, "[]", ""])
sys.stdout.write(out)
sys.stderr.write(err)
sys.exit(status)
"""


class FakeCeph:
    """A ``ceph`` executable written into ``directory``: it records every argv (and the name
    of the process that started it) and answers from ``answers`` (the command's words, such
    as ``"osd ok-to-stop"``, to exit status, stdout and stderr; anything else: ``[]``).

    ``env`` points cephflow (a worker, the CLI) at it through the CLI backend.
    """

    def __init__(self, directory: Path, answers: Mapping[str, tuple[int, str, str]] | None = None):
        self.log = directory / "ceph-argv.jsonl"
        self.path = directory / "bin" / "ceph"
        self.path.parent.mkdir(parents=True)
        self.path.write_text(FAKE_CEPH.format(python=sys.executable, log=str(self.log),
                                              answers=json.dumps(dict(answers or {}))))
        self.path.chmod(0o755)
        conf = directory / "ceph.conf"
        conf.write_text("[global]\n")
        self.env = {"CEPHFLOW_CEPH__CEPH_BINARY": str(self.path), "CEPHFLOW_CEPH__BACKEND": "cli",
                    "CEPHFLOW_CEPH__CONF": str(conf)}

    def calls(self) -> list[dict]:
        """Every run so far: ``{"argv": [...], "parent": <process name>}``."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]
