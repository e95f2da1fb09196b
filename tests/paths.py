"""Where the tests find the checkout and the ``cephflow`` entry point they run as an operator would."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
"""The checkout's root: README, Makefile, runbooks/, and the cwd of the CLI runs."""

CEPHFLOW = str(Path(sys.executable).with_name("cephflow"))
"""The console script installed beside the interpreter running the tests."""
