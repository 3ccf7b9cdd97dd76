"""One redaction for every value that can reach a person: logs, dashboard pages, tickets, emails, documents.

A secret is removed by its shape, wherever it sits in a value:

- values under secret-looking keys in mappings (``password``, ``token``, ``aws_secret_access_key``, ...);
- inline ``key=value`` / ``key: value`` pairs with such a key (``aws_secret_access_key=...`` in a message);
- the password of a URL (``postgresql://user:password@host/db``), and its whole query if it is presigned;
- ``Authorization`` schemes (``Bearer ...``, ``Basic ...``, ``token ...``);
- AWS access key ids, PEM private keys, JSON web tokens, Atlassian API tokens.

What is kept: everything else, unchanged, so a redacted message still says what went wrong. Domain module:
no Airflow import (the Airflow side additionally registers known secret values with Airflow's own masker).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "RedactingFilter", "get_logger", "is_secret_key", "redact", "redact_text"]

REDACTED = "[redacted]"

_SENSITIVE_NAMES = (  # the names of secrets, not one
    r"secret|password|passwd|pwd|token|credential|api[_-]?key|apikey|private[_-]?key|access[_-]?key"
    r"|session[_-]?key|authorization|signature|client[_-]?secret"
)
_SECRET_KEY = re.compile(rf"({_SENSITIVE_NAMES})", re.IGNORECASE)
# Keys whose name contains a secret word but whose value is not a secret.
_NOT_SECRET_KEYS = frozenset({"author", "authors", "auth_manager", "token_url", "authority", "authored_by"})

_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA|ANPA|AGPA|AIPA)[0-9A-Z]{16}\b")
_PRESIGNED = re.compile(
    r"(https?://[^\s?#]+)\?[^\s#]*(?:X-Amz-|Signature=|AWSAccessKeyId=|sig=)[^\s#]*", re.IGNORECASE
)
# scheme://user:password@host -> the password only; user and host stay (they say which server).
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@?#]*:)(?P<secret>[^\s@/?#]+)(?=@)")
_SCHEMES = frozenset({"Bearer", "Basic", "Digest", "token", "Token", "AWS4-HMAC-SHA256"})
# The credential is not a key name followed by its separator ("Token password: x" is a pair for
# _INLINE_PAIR, whose value would survive if the scheme took the key as its credential).
_AUTH_SCHEME = re.compile(
    r"\b(?P<scheme>Bearer|Basic|Digest|token|Token|AWS4-HMAC-SHA256)\s+(?P<secret>[^\s,;\"']{8,}+)(?<!:)(?!\s*[:=])"
)
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b")
_ATLASSIAN_TOKEN = re.compile(r"\bATAT[A-Za-z0-9_\-=]{20,}\b")
# key=value, key: value, "key": "value" with a secret-looking key (quotes optional, any case).
_INLINE_PAIR = re.compile(
    rf"(?P<head>[\"']?\b[\w.\-]*(?:{_SENSITIVE_NAMES})[\w.\-]*[\"']?\s*[:=]\s*)(?P<quote>[\"'])?"
    r"(?P<secret>(?(quote)[^\"'\n]*|[^\s,;&\"'}\]]+))",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret (its value is blanked whatever it holds)."""
    return key.lower() not in _NOT_SECRET_KEYS and bool(_SECRET_KEY.search(key))


def _inline(match: re.Match[str]) -> str:
    head = match.group("head")
    name = head.strip().strip("\"'").rstrip(":=").strip().strip("\"'")
    secret = match.group("secret")
    # Already handled (an Authorization header's scheme keeps its name, its credential is gone).
    if not is_secret_key(name) or not secret or secret.startswith(REDACTED) or secret in _SCHEMES:
        return match.group(0)
    return f"{head}{match.group('quote') or ''}{REDACTED}"


def redact_text(value: str) -> str:
    """``value`` with every secret shape this module knows replaced by ``[redacted]``."""
    if not value:
        return value
    value = _PEM.sub(REDACTED, value)
    value = _PRESIGNED.sub(lambda m: f"{m.group(1)}?{REDACTED}", value)
    value = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{REDACTED}", value)
    value = _AUTH_SCHEME.sub(lambda m: f"{m.group('scheme')} {REDACTED}", value)
    value = _JWT.sub(REDACTED, value)
    value = _ATLASSIAN_TOKEN.sub(REDACTED, value)
    value = _INLINE_PAIR.sub(_inline, value)
    return _AWS_KEY_ID.sub(REDACTED, value)


def redact(value: Any, *, _key: str = "") -> Any:
    """A copy of ``value`` (nested dicts/lists of JSON values) with secrets removed; dict keys sorted."""
    if _key and is_secret_key(_key):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): redact(v, _key=str(k)) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (arguments applied) through ``redact_text`` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging call's bug; leave it to logging to report
            return True
        cleaned = redact_text(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # Tracebacks carry exception messages (a settings error may quote a URL): format once, redacted.
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_FILTER = RedactingFilter()


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with the redacting filter on it (filters are per logger, not inherited)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
