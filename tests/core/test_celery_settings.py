"""The ``[celery]`` settings: routes and rate limits by task name, read strictly."""

from __future__ import annotations

import pytest

from cephflow.errors import ConfigError
from cephflow.settings import Settings, load_settings


def _settings(tmp_path, monkeypatch, text: str) -> Settings:
    config = tmp_path / "config.toml"
    config.write_text(text)
    monkeypatch.setenv("CEPHFLOW_CONFIG", str(config))
    return load_settings()


def test_routes_and_rate_limits_from_the_file_and_the_environment(tmp_path, monkeypatch):
    s = _settings(tmp_path, monkeypatch, '[celery]\ntask_routes = { "ceph.*" = "cephflow-ceph" }\n'
                  'rate_limits = { "notify.dc" = "10/m" }\n')
    assert s.celery.task_routes == {"ceph.*": "cephflow-ceph"}
    assert s.celery.rate_limits == {"notify.dc": "10/m"}
    monkeypatch.setenv("CEPHFLOW_CELERY__RATE_LIMITS", '{"notify.dc": "2/s"}')
    assert Settings().celery.rate_limits == {"notify.dc": "2/s"}


@pytest.mark.parametrize("text, where", [
    ('[celery]\nrate_limits = { "notify.dc" = "10 per minute" }\n', "celery.rate_limits"),
    ('[celery]\ntask_routes = { "notify.dc" = "" }\n', "celery.task_routes"),
    ('[celery]\nrate_limit = { "notify.dc" = "10/m" }\n', "rate_limit"),
])
def test_a_bad_celery_setting_is_refused_naming_it(tmp_path, monkeypatch, text, where):
    with pytest.raises(ConfigError) as refused:
        _settings(tmp_path, monkeypatch, text)
    assert where in str(refused.value) + str(getattr(refused.value, "hint", ""))
