"""API tokens: made by ``cephflow api-token``, kept as a hash, checked against every entry.

A wrong program would admit a token it was not given, keep the token itself in the
settings, or let a misspelt key of a token's table pass silently (the token then has no
roles the operator meant it to have).
"""

from __future__ import annotations

import re
import subprocess

import pytest

from cephflow.errors import ConfigError
from cephflow.operations.api_tokens import caller_of, digest, new_token
from cephflow.settings import ApiRole, get_settings, load_settings
from tests.paths import CEPHFLOW, REPO


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    monkeypatch.setenv("CEPHFLOW_CONFIG", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_a_token_admits_its_user_and_roles_and_no_other_token_is_admitted(config):
    ops = new_token("ops-bot", "olga", [ApiRole.OPERATOR, ApiRole.VIEWER])
    dc = new_token("dc", "dc-tech", [ApiRole.APPROVER])
    config.write_text(ops.toml() + dc.toml())
    assert ops.token not in config.read_text() and digest(ops.token) in config.read_text()
    who = caller_of(ops.token)
    assert (who.name, who.user, who.roles) == ("ops-bot", "olga",
                                               {ApiRole.OPERATOR, ApiRole.VIEWER})
    assert caller_of(dc.token).user == "dc-tech"
    assert caller_of(ops.token + "x") is None
    assert caller_of(digest(ops.token)) is None  # the hash itself is no token
    assert caller_of("") is None and caller_of(None) is None


def test_a_misspelt_key_of_a_token_is_refused_with_its_line(config):
    config.write_text('[api.tokens.ops]\nsha256 = "' + "0" * 64 + '"\nuser = "o"\n'
                      'role = ["operator"]\n')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == "unknown setting 'api.tokens.ops.role'"
    assert caught.value.where == f"{config}:4"


def test_a_token_without_roles_or_with_a_bad_hash_is_refused(config):
    config.write_text('[api.tokens.ops]\nsha256 = "abc"\nuser = "o"\nroles = ["root"]\n')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "api.tokens" in str(caught.value)


def test_the_api_token_command_prints_the_token_once_and_lines_that_admit_it(config):
    made = subprocess.run([CEPHFLOW, "api-token", "dc-link", "--user", "dc-tech",
                           "--role", "approver", "--role", "viewer"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    token = re.search(r"token \(shown once\): (cfl_\S+)", made.stdout).group(1)
    lines = made.stdout.split("only the hash is kept):\n", 1)[1]
    assert token not in lines
    config.write_text(lines)
    who = caller_of(token)
    assert (who.user, who.roles) == ("dc-tech", {ApiRole.APPROVER, ApiRole.VIEWER})

    bad = subprocess.run([CEPHFLOW, "api-token", "a b", "--user", "u", "--role", "viewer"],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "NAME" in bad.stderr
    bad = subprocess.run([CEPHFLOW, "api-token", "ab", "--user", "u", "--role", "root"],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "root" in bad.stderr


def test_failed_logins_are_counted_per_address_in_a_sliding_minute():
    from cephflow.web.ratelimit import FailureLimit

    now = [1000.0]
    limit = FailureLimit(3, clock=lambda: now[0])
    for _ in range(3):
        assert limit.blocked_for("10.0.0.1") == 0
        limit.failed("10.0.0.1")
    assert limit.blocked_for("10.0.0.1") == 60.0
    assert limit.blocked_for("10.0.0.2") == 0  # another address is not held back
    now[0] += 59.5
    assert limit.blocked_for("10.0.0.1") == pytest.approx(0.5)
    now[0] += 0.5
    assert limit.blocked_for("10.0.0.1") == 0
