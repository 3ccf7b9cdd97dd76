"""Properties of the wiki -> ADF builder and the escapes: whatever a value holds, it stays literal text."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from model_governance.documents.adf import wiki_to_adf
from model_governance.documents.escaping import escape_markdown, escape_wiki, one_line, unescape_wiki

# Text rich in the characters that start wiki markup, links, macros, tables and references.
_PIECES = [*"*_?-+^~{}[]|!#()\\&;:/.h1bq ", "&#92;", "&amp;", "http://x.io", "\n", "é", "😀"]
_MARKUP_HEAVY = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)
_ANY_TEXT = st.text(max_size=120)


def _nodes(node: Any) -> list[dict[str, Any]]:
    found = [node]
    for child in node.get("content", []):
        found += _nodes(child)
    return found


def _plain(adf: dict[str, Any]) -> str:
    return "".join(n["text"] for n in _nodes(adf) if n["type"] == "text")


@settings(max_examples=120, deadline=None)
@given(value=_MARKUP_HEAVY | _ANY_TEXT)
def test_property_an_escaped_value_is_one_unmarked_text_paragraph(value: str) -> None:
    adf = wiki_to_adf(escape_wiki(value))
    assert adf["type"] == "doc" and adf["version"] == 1
    nodes = _nodes(adf)
    # Only a paragraph of text: no heading, list, table, link, mark or rule came out of the value.
    assert {n["type"] for n in nodes} <= {"doc", "paragraph", "text"}
    assert all("marks" not in n for n in nodes)
    assert _plain(adf) == one_line(value)


@settings(max_examples=120, deadline=None)
@given(value=_MARKUP_HEAVY | _ANY_TEXT)
def test_property_wiki_escaping_round_trips(value: str) -> None:
    assert unescape_wiki(escape_wiki(value)) == one_line(value)


@settings(max_examples=80, deadline=None)
@given(prefix=_MARKUP_HEAVY, value=_MARKUP_HEAVY, suffix=_MARKUP_HEAVY)
def test_property_a_value_inside_template_markup_never_changes_the_markup(
    prefix: str, value: str, suffix: str
) -> None:
    template = (
        f"h2. Decision\n*Model:* {escape_wiki(value)}\n* item [link|https://jira.example.com/browse/MLC-1]"
    )
    adf = wiki_to_adf(template)
    nodes = _nodes(adf)
    links = [m for n in nodes for m in n.get("marks", []) if m["type"] == "link"]
    assert [m["attrs"]["href"] for m in links] == ["https://jira.example.com/browse/MLC-1"]
    assert one_line(value) in _plain(adf) or not one_line(value)
    assert sum(1 for n in nodes if n["type"] == "heading") == 1


@settings(max_examples=80, deadline=None)
@given(value=_MARKUP_HEAVY | _ANY_TEXT)
def test_property_markdown_escaping_stays_on_one_line(value: str) -> None:
    escaped = escape_markdown(value)
    assert "\n" not in escaped and "\r" not in escaped
