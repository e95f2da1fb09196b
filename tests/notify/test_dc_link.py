"""The datacentre link's token: what it carries comes back only from an unaltered token,
signed with the same secret, for the workflow it names, before its end."""

from __future__ import annotations

import pytest

from cephflow.errors import LinkExpired, LinkInvalid
from cephflow.notify import dc_link
from cephflow.notify.dc_link import DcLink

SECRET = "s" * 40
LINK = DcLink("a1b2c3d4e5f6", "tell-dc[osd.4]", "disk-replaced", "Xk3mNq8rT1aZ", 2_000_000_000)


def test_a_signed_link_comes_back_whole():
    token = dc_link.sign(LINK, SECRET)
    assert dc_link.verify(token, SECRET, workflow=LINK.workflow, now=1_900_000_000) == LINK
    assert dc_link.url("https://cf.example/", LINK, SECRET) == (
        f"https://cf.example/dc/{LINK.workflow}/{token}")


def test_a_new_link_has_its_own_id_and_ends_after_the_ttl():
    one = DcLink.new("wf", "n", "g", now=1000.0, ttl=60)
    two = DcLink.new("wf", "n", "g", now=1000.0, ttl=60)
    assert one.expires == 1060 and one.link != two.link and len(one.link) >= 12


@pytest.mark.parametrize("alter", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),            # the signature
    lambda t: ("e" if t[0] != "e" else "f") + t[1:],              # the payload
    lambda t: t.partition(".")[0],                                # no signature
    lambda t: t + "x",
    lambda t: "",
    lambda t: "not-base64!." + t.partition(".")[2],
])
def test_an_altered_token_is_invalid(alter):
    token = alter(dc_link.sign(LINK, SECRET))
    with pytest.raises(LinkInvalid, match="not valid"):
        dc_link.verify(token, SECRET, workflow=LINK.workflow, now=0)


def test_another_secret_or_another_workflow_is_invalid():
    token = dc_link.sign(LINK, SECRET)
    with pytest.raises(LinkInvalid, match="not valid"):
        dc_link.verify(token, "t" * 40, workflow=LINK.workflow, now=0)
    with pytest.raises(LinkInvalid, match=f"belongs to workflow {LINK.workflow}, not ffff"):
        dc_link.verify(token, SECRET, workflow="ffff", now=0)


def test_a_payload_signed_but_not_a_link_is_invalid():
    payload = dc_link._b64(b'{"w": "a1b2c3d4e5f6"}')
    token = f"{payload}.{dc_link._signature(SECRET, payload)}"
    with pytest.raises(LinkInvalid, match="cannot be read"):
        dc_link.verify(token, SECRET, workflow="a1b2c3d4e5f6", now=0)


def test_a_link_past_its_end_has_expired():
    token = dc_link.sign(LINK, SECRET)
    assert dc_link.verify(token, SECRET, workflow=LINK.workflow, now=LINK.expires)
    with pytest.raises(LinkExpired, match="expired"):
        dc_link.verify(token, SECRET, workflow=LINK.workflow, now=LINK.expires + 1)
