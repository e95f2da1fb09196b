"""``redis_address``: what a ``rediss://`` URL asks of TLS, said to every client alike."""

from __future__ import annotations

import ssl

from cephflow.engine.connection import redis_address


def test_tls_checks_the_certificate_and_the_host_name_unless_the_url_says_otherwise():
    """Said, not left to redis-py's default (False before redis-py 6, which the pin allows):
    else any certificate a trusted CA signed for another host would do."""
    assert redis_address("rediss://h:6380/0").tls == {
        "ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_check_hostname": True}
    assert redis_address("rediss://h/0?ssl_check_hostname=false").tls[
        "ssl_check_hostname"] is False
    assert redis_address("rediss://h/0?ssl_cert_reqs=none").tls == {
        "ssl_cert_reqs": ssl.CERT_NONE, "ssl_check_hostname": False}
    assert redis_address("redis://h/0").tls == {}
