"""Shared test set-up. Fixtures for real services live in tests/fixtures/, one module each.

Fixtures that need a service start it themselves (binaries installed by scripts/setup.sh).
Where a binary is missing they skip on a developer's machine but fail in CI (``CI`` set).
"""

from __future__ import annotations

import pytest

pytest_plugins: list[str] = ["tests.fixtures.redis_server", "tests.fixtures.celery_worker"]


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory, monkeypatch):
    """Every test gets its own state dir and config file, never the user's."""
    from cephflow.settings import get_settings

    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("CEPHFLOW_STATE_DIR", str(home / "state"))
    monkeypatch.setenv("CEPHFLOW_CONFIG", str(home / "config.toml"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
