"""``redis+sentinel://``: read once, and said alike to the engine's client, kombu and Celery."""

from __future__ import annotations

import pytest

from cephflow.engine.broker import SENTINEL_ALIAS, sentinel_conf
from cephflow.sentinel_url import SentinelUrl, parse_sentinel_url


def test_the_sentinels_the_service_the_database_and_the_credentials_are_read():
    assert parse_sentinel_url(
        "redis+sentinel://ops:p%40ss@s1:26380,s2,[fd00::3]:26381/2?service=main"
    ) == SentinelUrl(sentinels=(("s1", 26380), ("s2", 26379), ("fd00::3", 26381)),
                     service="main", db=2, username="ops", password="p@ss")
    assert parse_sentinel_url("redis+sentinel://s1?service=m") == SentinelUrl(
        (("s1", 26379),), "m")


@pytest.mark.parametrize(("url", "message"), [
    ("redis+sentinel://s1:26379/0", "needs ?service=<name>"),
    ("redis+sentinel://s1:26379/0?service=", "needs ?service=<name>"),
    ("redis+sentinel://s1:26379,/0?service=m", "a sentinel address is empty"),
    ("redis+sentinel://s1:x/0?service=m", "the port must be 1-65535"),
    ("redis+sentinel://s1/db1?service=m", "must be a number"),
    ("redis+sentinel://s1/0?service=m&socket_timeout=1", "unknown query parameter"),
    ("redis+sentinel://[fd00::1/0?service=m", "an IPv6 address is [address]:port"),
])
def test_a_wrong_url_says_what_is_wrong(url, message):
    with pytest.raises(ValueError, match=message.replace("?", r"\?").replace("[", r"\[")):
        parse_sentinel_url(url)


def test_broker_and_result_backend_name_every_sentinel_and_the_service():
    """The broker is the hardened Sentinel transport with every sentinel in its options (not
    in URL alternates, which kombu would switch to its own transport on); the result backend
    is Celery's sentinel:// one; the password is quoted back; other options are kept."""
    conf = sentinel_conf("redis+sentinel://:p%3Bw@s1:1,s2:2/3?service=main",
                         {"visibility_timeout": 60})
    assert conf["broker_url"] == f"{SENTINEL_ALIAS}://:p%3Bw@s1:1/3"
    assert conf["broker_transport_options"] == {
        "visibility_timeout": 60, "master_name": "main", "sentinels": [("s1", 1), ("s2", 2)]}
    assert conf["result_backend"] == "sentinel://:p%3Bw@s1:1/3;sentinel://:p%3Bw@s2:2/3"
    assert conf["result_backend_transport_options"] == {"master_name": "main"}
    assert sentinel_conf("redis://h:6379/0", {}) == {}


def test_a_sentinel_urls_password_is_never_shown():
    from cephflow.engine.connection import safe_url

    assert safe_url("redis+sentinel://ops:hunter2@s1:1,s2:2/0?service=m") == (
        "redis+sentinel://ops:**********@s1:1,s2:2/0?service=m")
