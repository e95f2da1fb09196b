"""Shared test set-up. Fixtures for real services live in tests/fixtures/, one module each.

Tests sit under the folder of the package they test (tests/engine for cephflow/engine, ...);
tests/repo checks the checkout as a whole; tests/faults tries bad input, misuse and faults
across the packages through the CLI (docs/reliability.md lists them). Helpers that are not fixtures are plain modules
(``support.py``) imported where used.

Fixtures that need a service start it themselves (binaries installed by scripts/setup.sh).
Where a binary is missing they skip on a developer's machine but fail in CI (``CI`` set).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from cephflow import settings_sources
from cephflow.lab.state import use_lab_state

pytest_plugins: list[str] = [
    "tests.fixtures.redis_server",
    "tests.fixtures.redis_sentinel",
    "tests.fixtures.celery_worker",
    "tests.fixtures.workflow_client",
    "tests.fixtures.http_server",
    "tests.fixtures.smtp_server",
    "tests.fixtures.alertmanager",
    "tests.fixtures.sshd",
    "tests.fixtures.ceph_lab",
    "tests.fixtures.ceph_flow",
    "tests.fixtures.api_server",
    "tests.fixtures.browser",
]
"""Every fixture module, registered once: any test folder can ask for any service."""

_SESSION_HOME: str | None = None
TEST_SWITCHES = set(settings_sources.TEST_SWITCHES)
"""Variables that steer the suite itself, not cephflow's settings: kept."""


def pytest_configure(config) -> None:
    """Before any fixture starts a process: a HOME, state dir and config of the session's own.

    Session-scoped fixtures (workers, labs, CLI runs) start before the per-test settings below
    apply; they inherit this environment, so nothing the suite starts reads or writes the
    user's HOME, ``~/.local/state/cephflow`` (a running ``make demo`` lab) or config, and no
    ``CEPHFLOW_*``/``CEPH_CONF`` of the user's shell leaks in.
    """
    global _SESSION_HOME
    _SESSION_HOME = tempfile.mkdtemp(prefix="cephflow-tests-home-")
    use_lab_state()  # as the CLI and the worker do: settings honour a lab's state file
    for name in list(os.environ):
        if (name.startswith("CEPHFLOW_") and name not in TEST_SWITCHES) or name == "CEPH_CONF":
            del os.environ[name]
    os.environ.update(
        HOME=_SESSION_HOME,
        XDG_STATE_HOME=os.path.join(_SESSION_HOME, ".local", "state"),
        XDG_CONFIG_HOME=os.path.join(_SESSION_HOME, ".config"),
        XDG_CACHE_HOME=os.path.join(_SESSION_HOME, ".cache"),
        XDG_DATA_HOME=os.path.join(_SESSION_HOME, ".local", "share"),
        CEPHFLOW_STATE_DIR=os.path.join(_SESSION_HOME, "state"),
        CEPHFLOW_CONFIG=os.path.join(_SESSION_HOME, "config.toml"),
    )
    open(os.environ["CEPHFLOW_CONFIG"], "w").close()  # an explicit config file must exist


def pytest_unconfigure(config) -> None:
    if _SESSION_HOME:
        shutil.rmtree(_SESSION_HOME, ignore_errors=True)


LAB_GROUP = "lab"
"""The xdist group of every test on a real Ceph: one process runs them all, one lab at a time."""


def pytest_collection_modifyitems(config, items) -> None:
    """``make test`` runs on two processes (pytest-xdist, ``--dist loadgroup``).

    Tests that use the session's lab cluster, or start labs of their own (tests/lab), go to
    one process: a second lab would double the load of the slowest tests and share nothing.
    Every other test runs on either process with its own Redis, workers and HOME (each
    process runs ``pytest_configure`` and the session fixtures for itself).
    """
    for item in items:
        if (item.get_closest_marker("ceph") or "ceph_lab" in item.fixturenames
                or item.nodeid.startswith("tests/lab/")):
            item.add_marker(pytest.mark.xdist_group(LAB_GROUP))


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory, monkeypatch):
    """Every test gets its own state dir and config file, never the user's."""
    from cephflow.settings import get_settings

    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("CEPHFLOW_STATE_DIR", str(home / "state"))
    (home / "config.toml").touch()  # empty: the defaults; an explicit config file must exist
    monkeypatch.setenv("CEPHFLOW_CONFIG", str(home / "config.toml"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
