"""Escaping of untrusted text for each output format, and the "already safe" markers templates use.

Text from users (use case descriptions, feature names, model metadata) reaches three markups: HTML
(Jinja's autoescape with MarkupSafe), Markdown (CommonMark/GFM) and Jira wiki markup (Data Center, and
Cloud after conversion to ADF). Each escape here makes the text literal in its markup: no element,
link, image, macro or template syntax survives. Values a template must emit as markup (a link or chart
built by this package) are wrapped in the format's safe type and pass through unescaped.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

from markupsafe import Markup, escape

__all__ = [
    "MarkdownSafe",
    "Markup",
    "WikiSafe",
    "escape_html",
    "escape_markdown",
    "escape_wiki",
    "one_line",
    "safe_url",
    "unescape_wiki",
]

# Control characters (other than tab and newline) have no place in a document and can confuse viewers.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NEWLINES = re.compile(r"\s*(?:\r\n|\r|\n)\s*")


def clean_text(value: object) -> str:
    """``str(value)`` without control or bidirectional-override characters (they can disguise text)."""
    return _CONTROL.sub("", "" if value is None else str(value))


def one_line(value: object) -> str:
    """The text on a single line: newlines and the whitespace around them become one space."""
    return _NEWLINES.sub(" ", clean_text(value)).strip()


class MarkdownSafe(str):
    """Markdown this package built on purpose (a link, a table row): templates emit it unescaped."""

    __slots__ = ()


class WikiSafe(str):
    """Jira wiki markup this package built on purpose: templates emit it unescaped."""

    __slots__ = ()


def escape_html(value: object) -> Markup:
    return escape(clean_text(value)) if not isinstance(value, Markup) else value


# CommonMark lets any ASCII punctuation be backslash-escaped, and an escaped character is always literal.
# Escaped everywhere: what starts emphasis, code, links, images, raw HTML, autolinks, entities, table
# cells, strikethrough and math. Escaped only at the start of the text: what starts a block (heading,
# quote, list, rule, setext underline), in case a template puts the value at the start of a line. Other
# punctuation stays as it is, so numbers and sentences read normally in the Markdown source.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&$!])")
_MD_BLOCK = re.compile(r"^(?:#{1,6}(?=\s|$)|>|[-+](?=\s|$)|[-=]+\s*$|\d{1,9}(?=[.)](?:\s|$)))")


def escape_markdown(value: object) -> str:
    """Literal Markdown for ``value``, on one line (a newline could start a heading, list or table row)."""
    if isinstance(value, MarkdownSafe):
        return value
    text = _MD_INLINE.sub(r"\\\1", one_line(value))
    match = _MD_BLOCK.match(text)
    if match is None:
        return text
    if match.group(0)[0].isdigit():  # "1. text" would start an ordered list: escape the dot instead
        end = match.end()
        return text[:end] + "\\" + text[end:]
    return "\\" + text


# Jira wiki markup: characters that start text effects, links, images, macros, tables, lists, icons
# (``(x)``) and emoticons (``:)``). A backslash before one makes it literal. A backslash itself cannot be
# escaped that way ("\\" is a line break), so it is written as the character reference &#92;; an
# ampersand that would start a character reference is written &amp;; and a line-start block marker
# (``h1.``, ``bq.``) gets its first letter as a character reference, in case a template puts the value
# at the start of a line.
_WIKI_TOKEN = re.compile(r"[*_?\-+^~{}\[\]|!#()]|\\|&(?=#?[A-Za-z0-9]+;)|^(?:h[1-6]|bq)(?=\.)")


def _wiki_token(match: re.Match[str]) -> str:
    piece = match.group(0)
    if piece == "\\":
        return "&#92;"
    if piece == "&":
        return "&amp;"
    if len(piece) > 1:  # a line-start block marker such as h1 or bq
        return f"&#{ord(piece[0])};{piece[1:]}"
    return "\\" + piece


def escape_wiki(value: object) -> str:
    """Literal Jira wiki text for ``value``, on one line (a newline could start a heading or list)."""
    if isinstance(value, WikiSafe):
        return value
    # One pass, so the escapes added are never escaped again.
    return _WIKI_TOKEN.sub(_wiki_token, one_line(value))


_WIKI_UNESCAPE = re.compile(r"\\(.)|&#(\d{1,7});|&amp;")


def unescape_wiki(text: str) -> str:
    """The plain text that ``escape_wiki`` encoded (used for Jira's plain-text summary and for ADF)."""

    def _plain(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1)
        if match.group(2) is not None:
            return chr(min(int(match.group(2)), 0x10FFFF))
        return "&"

    return _WIKI_UNESCAPE.sub(_plain, text)


_URL_SAFE = "/:?#[]@!$&'()*+,;=%-._~"


def safe_url(value: Any) -> str | None:
    """``value`` as an http(s) URL fit for a link, or None when it is anything else.

    Links in documents and tickets point at Airflow, SageMaker, the dashboard and Jira: only http and
    https are allowed, so ``javascript:``, ``data:`` and ``file:`` URLs from any source never become links.
    Characters that could close the link in some markup (space, quotes, angle brackets, ``|``, ``]``,
    ``)``, backslash) are percent-encoded.
    """
    if value is None:
        return None
    text = clean_text(value).strip()
    if not text or any(ch.isspace() for ch in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    encoded = quote(text, safe=_URL_SAFE)
    # These are legal in URLs but end a link in Markdown or wiki markup.
    for char, code in (("|", "%7C"), ("]", "%5D"), ("[", "%5B"), (")", "%29"), ("(", "%28"), ("'", "%27")):
        encoded = encoded.replace(char, code)
    return encoded
