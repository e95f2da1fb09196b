"""Audit of "configuration from environment variables and an optional config file, in one
settings object": the file is read, the environment wins over it, nested sections use ``__``,
a missing file is fine, and secrets from either source print masked.
"""

from __future__ import annotations

from cephflow.settings import Settings


def test_config_file_then_environment_with_nested_sections_and_masked_secrets(tmp_path,
                                                                              monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('namespace = "from-file"\npoll_countdown = 7.5\n\n'
                      '[smtp]\nhost = "mail.file"\npassword = "file-pw-123"\n')
    monkeypatch.setenv("CEPHFLOW_CONFIG", str(config))
    from_file = Settings()
    assert (from_file.namespace, from_file.poll_countdown) == ("from-file", 7.5)
    assert from_file.smtp.host == "mail.file"
    assert from_file.smtp.password.get_secret_value() == "file-pw-123"

    monkeypatch.setenv("CEPHFLOW_NAMESPACE", "from-env")
    monkeypatch.setenv("CEPHFLOW_SMTP__HOST", "mail.env")
    both = Settings()
    assert (both.namespace, both.poll_countdown, both.smtp.host) == ("from-env", 7.5, "mail.env")
    shown = repr(both) + str(both.model_dump()) + both.model_dump_json()
    assert "file-pw-123" not in shown


def test_no_config_file_gives_the_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("CEPHFLOW_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # ~/.config/cephflow/config.toml absent
    monkeypatch.delenv("CEPHFLOW_NAMESPACE", raising=False)
    assert Settings().namespace == Settings.model_fields["namespace"].default
