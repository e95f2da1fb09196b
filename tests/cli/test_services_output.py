"""``cephflow services`` names the configured Redis without the password in its URL."""

from __future__ import annotations

import os
import subprocess

import pytest

from cephflow.engine.connection import safe_url
from tests.paths import CEPHFLOW


@pytest.mark.parametrize(("url", "shown"), [
    ("redis://:hunter2@127.0.0.1:6379/0", "redis://:**********@127.0.0.1:6379/0"),
    ("redis://ops:hunter2@redis.lab:6380/2", "redis://ops:**********@redis.lab:6380/2"),
    ("rediss://:p@ss@redis.lab/0", "rediss://:**********@redis.lab/0"),
    ("redis://redis.lab:6379/0", "redis://redis.lab:6379/0"),
    ("unix:///run/redis.sock", "unix:///run/redis.sock"),
    ("redis://:s3cr#t@redis.lab:6379/0", "redis://**********@redis.lab:6379/0"),
    ("redis://ops:a?b@redis.lab/0", "redis://**********@redis.lab/0"),
])
def test_a_url_is_shown_with_its_password_masked_and_its_server_whole(url, shown):
    assert safe_url(url) == shown


def test_services_shows_the_configured_redis_without_its_password(tmp_path):
    env = dict(os.environ, CEPHFLOW_REDIS_URL="redis://:hunter2-svc@127.0.0.1:1/0",
               CEPHFLOW_STATE_DIR=str(tmp_path / "state"))
    shown = subprocess.run([CEPHFLOW, "services"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "hunter2-svc" not in shown.stdout + shown.stderr
    assert "redis://:**********@127.0.0.1:1/0" in shown.stdout
