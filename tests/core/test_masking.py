"""The masking of secret values: overlaps, short and empty values, JSON, log records."""

from __future__ import annotations

import json
import logging

import pytest

from cephflow.masking import MASK, LogMasking, Masker, mask


@pytest.mark.parametrize(("text", "secrets", "shown"), [
    ("token s3cr3t given", ["s3cr3t"], "token *** given"),
    ("s3cr3t and s3cr3t", ["s3cr3t"], "*** and ***"),
    ("s3cr3t", ["s3cr3t"], "***"),
    ("nothing here", ["s3cr3t"], "nothing here"),
    # one secret inside another: the longer one wins, no fragment of it is left
    ("key=abcdef-xyz", ["abcdef", "abcdef-xyz"], "key=***"),
    # two secrets that overlap: masked as one run, neither's tail shows
    ("x abcdefgh y", ["abcdef", "defgh"], "x *** y"),
    # adjacent secrets: one run too
    ("[abcxyz]", ["abc", "xyz"], "[***]"),
    # a secret repeated with overlap with itself
    ("aaaaa", ["aaa"], "***"),
    # empty, blank and short values are never masked
    ("a b ab abc", ["", "  ", "ab", " a "], "a b ab abc"),
    ("", ["s3cr3t"], ""),
])
def test_mask_text(text, secrets, shown):
    assert mask(text, secrets) == shown


def test_masks_the_value_inside_json_text():
    secret = 'p"ss\\wörd'
    for text in (json.dumps({"detail": f"login {secret}"}),
                 json.dumps({"detail": f"login {secret}"}, ensure_ascii=False)):
        masked = mask(text, [secret])
        assert json.loads(masked) == {"detail": f"login {MASK}"}
        assert "ss" not in masked


def test_masks_every_string_of_a_value_keys_included():
    m = Masker(["s3cr3t"])
    value = {"a": ["x s3cr3t", 3, None, {"s3cr3t": ("s3cr3t",)}], "n": 1.5}
    assert m.value(value) == {"a": ["x ***", 3, None, {"***": ["***"]}], "n": 1.5}


def test_no_secrets_changes_nothing():
    m = Masker([])
    value = {"a": "x"}
    assert not m and m.value(value) is value and m.text("abc") == "abc"


def test_the_masker_never_shows_its_values():
    assert "s3cr3t" not in repr(Masker(["s3cr3t"]))


def test_log_records_masked_in_message_args_and_traceback(caplog):
    masking = LogMasking()
    before = logging.getLogRecordFactory()
    masking.install()
    log = logging.getLogger("tests.masking")
    try:
        masking.register("wf1", ["s3cr3t", "x"])
        with caplog.at_level(logging.INFO, logger="tests.masking"):
            log.info("wf1: %s", "token s3cr3t")
            try:
                raise ValueError("bad s3cr3t")
            except ValueError:
                log.exception("failed with %r", {"t": "s3cr3t"})
            log.info("still here with x")
        text = caplog.text
        assert "s3cr3t" not in text
        assert "wf1: token ***" in text and "ValueError: bad ***" in text
        assert "{'t': '***'}" in text and "still here with x" in text
    finally:
        logging.setLogRecordFactory(before)


def test_log_masking_keeps_the_latest_workflows_only():
    masking = LogMasking()
    masking.KEEP = 2
    for wf, secret in (("a", "first"), ("b", "second"), ("c", "third")):
        masking.register(wf, [secret])
    assert masking.masker.text("first second third") == "first *** ***"
