"""Settings are read strictly: every mistake a user can make in the config file or the
environment is a ConfigError that says what, where and what to do; nothing is ignored.
"""

from __future__ import annotations

import re

import pytest

from cephflow.errors import ConfigError, ExitStatus
from cephflow.settings import Settings, load_settings
from cephflow.settings_sources import VARIABLES, allowed_variable
from tests.paths import REPO

CONFIG = "{config}"
RETIRED_SSH = (
    "it trusted every unknown SSH host key; it is replaced by ceph.ssh_trust_new_host_keys, "
    'the hosts whose new key may be trusted on first use: ssh_trust_new_host_keys = '
    '["osd-host-7"]')

# (case, config file text or None, environment, message, where, hint)
CASES = [
    ("typo in a section", '[ceph]\nssh_host = "a"\nssh_hots = "admin"\n', {},
     "unknown setting 'ceph.ssh_hots'", f"{CONFIG}:3", "did you mean 'ssh_host'?"),
    ("typo at the top", "retention_dayz = 3\n", {},
     "unknown setting 'retention_dayz'", f"{CONFIG}:1", "did you mean 'retention_days'?"),
    ("typo in a runbook override", '[runbook_overrides.demo.smtp]\nsendr = "x"\n', {},
     "unknown setting 'runbook_overrides.demo.smtp.sendr'", f"{CONFIG}:2",
     "did you mean 'sender'?"),
    ("unknown section", "[cephx]\nconf = 1\n", {},
     "unknown setting 'cephx'", f"{CONFIG}:1", "did you mean 'ceph'?"),
    ("TOML syntax error", "namespace = 'a'\n[ceph\n", {},
     "config file is not valid TOML: Expected ']' at the end of a table declaration",
     f"{CONFIG}:2", "see https://toml.io for the syntax"),
    ("wrong type in the file", '[ceph]\nssh_port = "twenty-two"\n', {},
     "setting ceph.ssh_port: Input should be a valid integer, unable to parse string as an "
     "integer", f"{CONFIG}:2", "fix the value of ceph.ssh_port"),
    ("wrong type in the environment", None, {"CEPHFLOW_CEPH__SSH_PORT": "x"},
     "setting ceph.ssh_port: Input should be a valid integer, unable to parse string as an "
     "integer", "CEPHFLOW_CEPH__SSH_PORT", "fix the value of ceph.ssh_port"),
    ("unknown variable", None, {"CEPHFLOW_RETENTION_DAYZ": "3"},
     "unknown environment variable CEPHFLOW_RETENTION_DAYZ", "environment",
     "did you mean 'CEPHFLOW_RETENTION_DAYS'?"),
    ("unknown nested variable", None, {"CEPHFLOW_CEPH__SSH_HOTS": "a"},
     "unknown environment variable CEPHFLOW_CEPH__SSH_HOTS", "environment",
     "did you mean 'CEPHFLOW_CEPH__SSH_HOST'?"),
    ("retired setting in the file", '[ceph]\nssh_auto_add_host_keys = true\n', {},
     "setting 'ceph.ssh_auto_add_host_keys' no longer exists", f"{CONFIG}:2", RETIRED_SSH),
    ("retired setting in an override", '[runbook_overrides.demo.ceph]\n'
     'ssh_auto_add_host_keys = true\n', {},
     "setting 'runbook_overrides.demo.ceph.ssh_auto_add_host_keys' no longer exists",
     f"{CONFIG}:2", RETIRED_SSH),
    ("retired setting in the environment", None,
     {"CEPHFLOW_CEPH__SSH_AUTO_ADD_HOST_KEYS": "true"},
     "setting ceph.ssh_auto_add_host_keys no longer exists",
     "CEPHFLOW_CEPH__SSH_AUTO_ADD_HOST_KEYS", RETIRED_SSH),
    ("bad Redis URL", None, {"CEPHFLOW_REDIS_URL": "foo://"},
     "setting redis_url: must start with redis://, rediss://, unix://, redis+sentinel://",
     "CEPHFLOW_REDIS_URL", "fix the value of redis_url"),
    ("a Sentinel URL without its service", None,
     {"CEPHFLOW_REDIS_URL": "redis+sentinel://:hunter2-secret@s1:26379,s2:26379/0"},
     "setting redis_url: a redis+sentinel:// URL needs ?service=<name>: the name the "
     "sentinels monitor the primary under", "CEPHFLOW_REDIS_URL", "fix the value of redis_url"),
    ("a Sentinel URL with a bad port", None,
     {"CEPHFLOW_REDIS_URL": "redis+sentinel://:hunter2-secret@s1:26379,s2:99999/0?service=m"},
     "setting redis_url: sentinel address 's2:99999': the port must be 1-65535",
     "CEPHFLOW_REDIS_URL", "fix the value of redis_url"),
    ("a Sentinel URL asking for TLS", None,
     {"CEPHFLOW_REDIS_URL": "redis+sentinel://s1/0?service=m&ssl_cert_reqs=required"},
     "setting redis_url: TLS (ssl_* parameters) is not offered through Sentinel",
     "CEPHFLOW_REDIS_URL", "fix the value of redis_url"),
    ("a Redis URL with a query kombu cannot take", None,
     {"CEPHFLOW_REDIS_URL": "rediss://:hunter2-secret@r:6380/0?socket_timeout=3"},
     "setting redis_url: unknown query parameter 'socket_timeout' (a rediss:// URL may carry "
     "ssl_ca_certs, ssl_certfile, ssl_keyfile, ssl_cert_reqs, ssl_check_hostname)",
     "CEPHFLOW_REDIS_URL", "fix the value of redis_url"),
    ("a '?' in a Redis password", None,
     {"CEPHFLOW_REDIS_URL": "redis://:hunter2?secret@r:6379/0"},
     "setting redis_url: a '?' in the password must be written %3F (what follows it reads as "
     "a query)", "CEPHFLOW_REDIS_URL", "fix the value of redis_url"),
    ("TLS options on a plain Redis URL", None,
     {"CEPHFLOW_REDIS_URL": "redis://:hunter2-secret@r:6379/0?ssl_cert_reqs=required"},
     "setting redis_url: ssl_cert_reqs needs a rediss:// URL (TLS)", "CEPHFLOW_REDIS_URL",
     "fix the value of redis_url"),
    ("a Redis CA file that does not exist", None,
     {"CEPHFLOW_REDIS_URL": "rediss://:hunter2-secret@r:6380/0?ssl_ca_certs=/nonexistent/ca.pem"},
     "setting redis_url: ssl_ca_certs: no such file: /nonexistent/ca.pem", "CEPHFLOW_REDIS_URL",
     "fix the value of redis_url"),
    ("a list that is not JSON", None, {"CEPHFLOW_RUNBOOK_DIRS": "/srv/rb"},
     "setting runbook_dirs: not valid JSON", "CEPHFLOW_RUNBOOK_DIRS",
     """lists and tables are JSON: CEPHFLOW_RUNBOOK_DIRS='["/srv/runbooks"]'"""),
]


@pytest.mark.parametrize(("case", "text", "env", "message", "where", "hint"), CASES,
                         ids=[c[0] for c in CASES])
def test_each_mistake_is_a_config_error_saying_where(case, text, env, message, where, hint,
                                                       tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(text or "")
    monkeypatch.setenv("CEPHFLOW_CONFIG", str(config))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    error = caught.value
    assert (str(error), error.where, error.hint) == (
        message, where.replace(CONFIG, str(config)), hint)
    assert error.exit_code == ExitStatus.BAD_INPUT
    assert "hunter2" not in f"{error} {error.where} {error.hint}"  # a URL's password


def test_an_explicit_config_file_that_does_not_exist_is_an_error(tmp_path, monkeypatch):
    missing = tmp_path / "absent.toml"
    monkeypatch.setenv("CEPHFLOW_CONFIG", str(missing))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert (str(caught.value), caught.value.where) == (
        "config file does not exist", f"CEPHFLOW_CONFIG={missing}")


def test_a_wrong_secret_value_is_not_echoed(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[smtp]\npassword = ["hunter2-secret"]\n')
    monkeypatch.setenv("CEPHFLOW_CONFIG", str(config))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "smtp.password" in str(caught.value)
    assert "hunter2" not in f"{caught.value} {caught.value.where} {caught.value.hint}"


def test_every_known_section_and_variable_is_accepted(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('namespace = "n"\n[ceph]\nssh_host = "admin"\n'
                      '[runbook_overrides.demo]\nnamespace = "m"\n'
                      '[runbook_overrides.demo.smtp]\nsender = "a@b"\n')
    monkeypatch.setenv("CEPHFLOW_CONFIG", str(config))
    monkeypatch.setenv("CEPHFLOW_SMTP__HOST", "mail")
    monkeypatch.setenv("CEPHFLOW_PARAM_TOKEN", "t")
    monkeypatch.setenv("CEPHFLOW_EXTRA_TASK_MODULES", "x")
    settings = load_settings()
    assert (settings.ceph.ssh_host, settings.smtp.host) == ("admin", "mail")


READS = re.compile(r"\bCEPHFLOW_[A-Z0-9_]*[A-Z0-9]\b")


def test_every_variable_the_code_tests_and_docs_name_is_allowed():
    """The allowed list is the one source: whatever the checkout names must pass it."""
    files = [p for top in ("cephflow", "tests", "bench", "docs") for p in (REPO / top).rglob("*")
             if p.suffix in (".py", ".md", ".toml", ".sh", ".yaml")]
    files += [REPO / "README.md", REPO / "Makefile"]
    named = {m for f in files if f.is_file() for m in READS.findall(f.read_text(errors="ignore"))}
    assert {"CEPHFLOW_CONFIG", "CEPHFLOW_REGEN_GOLDEN", "CEPHFLOW_REDIS_URL"} <= named
    unknown = sorted(n for n in named if not allowed_variable(n, Settings)
                     and n not in _PLACEHOLDERS)
    assert unknown == []
    assert set(VARIABLES) <= named  # nothing listed that nobody reads


_PLACEHOLDERS = {"CEPHFLOW_CEPH__", "CEPHFLOW_X", "CEPHFLOW_RETENTION_DAYZ",
                 "CEPHFLOW_CEPH__SSH_HOTS", "CEPHFLOW_CEPH__SSH_AUTO_ADD_HOST_KEYS"}
"""Names that stand for a family in prose, the typos the tests above make on purpose, and the
retired settings they try."""
