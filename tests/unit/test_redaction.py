"""One redaction for every value that reaches a person: a table of secret shapes, and properties."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_governance.redaction import (
    REDACTED,
    RedactingFilter,
    get_logger,
    is_secret_key,
    redact,
    redact_text,
)

# (text holding a secret, the secret itself, what must survive to keep the message useful)
SECRET_SHAPES = [
    (
        "postgresql+psycopg2://governance:Sup3r-s3cret@db.internal:5432/inventory",
        "Sup3r-s3cret",
        "db.internal",
    ),
    ("sqlite+pysqlite://u:p4ss@/x", "p4ss", "sqlite+pysqlite://u:"),
    ("redis://:hunter2hunter2@cache:6379/0", "hunter2hunter2", "cache:6379"),
    (
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY region=eu-west-1",
        "wJalrXUtnFEMI",
        "region",
    ),
    ("AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG'", "wJalrXUtnFEMI", "AWS_SECRET_ACCESS_KEY"),
    ('{"password": "correct horse", "user": "ops"}', "correct horse", '"user": "ops"'),
    (
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_value_123",
        "sig_value_123",
        "Authorization",
    ),
    ("header Bearer abcdefghijklmnopqrstuvwxyz0123", "abcdefghijklmnopqrstuvwxyz0123", "header"),
    ("Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==", "Basic"),
    # A scheme word before a key: value pair (Hypothesis found the value surviving: the scheme took the
    # key as its credential).
    ("Token aws_secret_access_key: 0000abcd0000", "0000abcd0000", "aws_secret_access_key"),
    ("key id AKIAIOSFODNN7EXAMPLE in use", "AKIAIOSFODNN7EXAMPLE", "in use"),
    ("temp ASIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE", "temp"),
    (
        "https://bucket.s3.amazonaws.com/doc.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=deadbeef",
        "deadbeef",
        "https://bucket.s3.amazonaws.com/doc.pdf",
    ),
    ("jira api_token=ATATT3xFfGF0abcdefghijklmnopqrstuvwxyz0123", "ATATT3xFfGF0abcdefghijklmnop", "jira"),
    ("token ATATT3xFfGF0abcdefghijklmnopqrstuvwxyz", "ATATT3xFfGF0abcdefghijklmnop", "token"),
    ("client_secret=abc123def456&grant_type=x", "abc123def456", "grant_type=x"),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEA",
        "",
    ),
    ("session eyJhbGciOiJSUzI1NiJ9.eyJ1c2VyIjoiYSJ9.c2lnbmF0dXJlX2hlcmU ok", "c2lnbmF0dXJlX2hlcmU", " ok"),
]


@pytest.mark.parametrize(("text", "secret", "kept"), SECRET_SHAPES, ids=[s[0][:32] for s in SECRET_SHAPES])
def test_each_secret_shape_is_removed_and_the_rest_kept(text: str, secret: str, kept: str) -> None:
    cleaned = redact_text(text)
    assert secret not in cleaned
    assert REDACTED in cleaned
    assert kept in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "registered as Deployment/Complete without approvals",
        "s3://model-governance/snapshots/uc-1/1/abc.json",
        "https://jira.example.com/browse/MLC-4",
        "password is wrong; check the connection",
        "the author of the ticket",
        "postgresql+psycopg2://user@host:5432/db",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_mappings_blank_secret_keys_and_redact_nested_strings() -> None:
    value = {
        "Password": "x",
        "aws_secret_access_key": "y",
        "author": "alice",
        "nested": [{"url": "postgresql://a:b@h/d", "token": 123}],
    }
    assert redact(value) == {
        "Password": REDACTED,
        "author": "alice",
        "aws_secret_access_key": REDACTED,
        "nested": [{"token": REDACTED, "url": f"postgresql://a:{REDACTED}@h/d"}],
    }
    assert is_secret_key("X-Api-Key") and not is_secret_key("author")


def test_the_log_filter_redacts_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = get_logger("model_governance.tests.redaction")
    assert get_logger("model_governance.tests.redaction").filters.count(logger.filters[0]) == 1
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("connecting to %s", "postgresql://gov:pa55word@db/inv")
        try:
            raise RuntimeError("bad url postgresql://gov:pa55word@db/inv")
        except RuntimeError:
            logger.exception("failed")
    text = caplog.text
    assert "pa55word" not in text
    assert "postgresql://gov:[redacted]@db/inv" in text
    assert "RuntimeError" in text


def test_a_broken_log_call_is_left_for_logging_to_report() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d", ("not a number",), None)
    assert RedactingFilter().filter(record) is True
    assert record.msg == "%d"


_SECRET_CHARS = st.text(
    alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="-_+"),
    min_size=8,
    max_size=40,
)
_PROSE = st.text(
    alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd", "Zs"), whitelist_characters=".,()-"),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(before=_PROSE, after=_PROSE, user=st.from_regex(r"[a-z]{1,12}", fullmatch=True), secret=_SECRET_CHARS)
def test_property_a_url_password_never_survives(before: str, after: str, user: str, secret: str) -> None:
    text = f"{before} postgresql://{user}:{secret}@db.example:5432/inventory {after}"
    cleaned = redact_text(text)
    assert f":{secret}@" not in cleaned
    assert "db.example:5432/inventory" in cleaned


@settings(max_examples=150, deadline=None)
@given(
    before=_PROSE,
    key=st.sampled_from(["password", "aws_secret_access_key", "api_key", "token", "client_secret", "PASSWD"]),
    sep=st.sampled_from(["=", ": ", " = ", ":"]),
    secret=_SECRET_CHARS,
)
def test_property_inline_secret_pairs_never_survive(before: str, key: str, sep: str, secret: str) -> None:
    cleaned = redact_text(f"{before} {key}{sep}{secret}")
    assert not cleaned.endswith(secret)
    assert cleaned.endswith(REDACTED)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_property_redaction_is_idempotent_and_total(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once
