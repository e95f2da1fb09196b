"""Who decided a gate comes from the process's uid, never from the environment."""

import os
import pwd

from cephflow.engine.control import current_user


def test_current_user_ignores_user_and_logname(monkeypatch):
    monkeypatch.setenv("USER", "alice-impersonated")
    monkeypatch.setenv("LOGNAME", "alice-impersonated")
    assert current_user() == pwd.getpwuid(os.geteuid()).pw_name != "alice-impersonated"
