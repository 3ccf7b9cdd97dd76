"""Text from users can never become markup, script, links or template code in any output format.

The payloads go into every user-controlled field (use case name, description and owner, feature and
group names, model description, model card, test reasons); each output is then parsed the way its
reader would (an HTML parser, a CommonMark parser with raw HTML on, the wiki-to-ADF converter) and
checked for anything active.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any

import pytest
from markdown_it import MarkdownIt

from model_governance.config import ApprovalKind
from model_governance.documents import render_review_document
from model_governance.documents.adf import wiki_to_adf
from model_governance.documents.escaping import escape_markdown, escape_wiki, unescape_wiki
from model_governance.documents.tickets import render_email, render_ticket
from model_governance.risk_tests import BinnedDistribution, GroupDisparity, TestResult
from tests.unit.documents import builders

PAYLOADS = [
    "<script>alert('x')</script>",
    "{{ 7*7 }} {% for x in range(3) %}loop{% endfor %} {# c #}",
    "[click me|javascript:alert(1)] [~admin] !https://evil.example/x.png!",
    "![img](javascript:alert(1)) [link](https://evil.example) <https://evil.example> "
    "<img src=x onerror=alert(1)>",
    "*bold* _em_ {{monospace}} {color:red}x{color} {noformat} ||a||b|| (x) :) ----",
    '"><svg onload=alert(1)> </textarea> <!-- mg:footer --> &lt;b&gt; &#60;script&#62;',
    "# heading\n- list\n> quote\nh1. wiki heading\n| a | b |\n\\\\ line break",
]
EVIL = " / ".join(PAYLOADS)
MARKERS = ("alert", "evil.example", "javascript:")


def evil_context() -> Any:
    ctx = builders.review_context()
    report = builders.report()
    report.results.append(
        TestResult(
            test="data_drift.ks_pvalue",
            dataset="both",
            value=0.5,
            threshold=None,
            passed=None,
            status="error",
            feature=PAYLOADS[3],
            reason=PAYLOADS[0] + PAYLOADS[2],
        )
    )
    report.distributions.insert(
        0,
        BinnedDistribution(
            feature=PAYLOADS[5],
            kind="categorical",
            bins=[PAYLOADS[0], PAYLOADS[3]],
            edges=[],
            baseline_counts=[1, 1],
            comparator_counts=[2, 0],
        ),
    )
    report.group_disparities.append(
        GroupDisparity(PAYLOADS[0], PAYLOADS[5], False, 99, 1, 0.1, 1, 1, 1.0, 0.9, 1.0, PAYLOADS[4])
    )
    return replace(
        ctx,
        use_case=replace(ctx.use_case, name=PAYLOADS[5][:190], description=EVIL, owner=PAYLOADS[0]),
        model=replace(
            ctx.model,
            description=EVIL,
            model_card={"intended_uses": {"purpose_of_model": EVIL, PAYLOADS[0]: PAYLOADS[2]}},
            training_metrics={PAYLOADS[3]: 1.0},
        ),
        risk_report=report,
        extra={"note": EVIL},
    )


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def _parse_html(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def _assert_html_inert(html: str, *, allowed_tags: set[str]) -> None:
    parsed = _parse_html(html)
    for tag, attrs in parsed.tags:
        assert tag in allowed_tags, f"unexpected <{tag}> element {attrs}"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler {name} on <{tag}>"
            if name == "href":
                assert value and value.startswith("https://") and "evil" not in value, value
    # The payload text is there, as text: the reader sees what the user typed.
    text = "".join(parsed.text)
    assert "<script>alert('x')</script>" in text
    assert "{{ 7*7 }}" in text and "{% for x in range(3) %}" in text
    assert parsed.comments.count(" mg:footer ") <= 1


HTML_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "section", "footer", "div", "p", "h1", "h2",
    "h3", "table", "thead", "tbody", "tr", "th", "td", "span", "strong", "code", "br", "a", "ul", "li",
    "figure", "figcaption", "svg", "desc", "rect", "line", "text",
}  # fmt: skip


def test_review_html_renders_payloads_as_text() -> None:
    doc = render_review_document(evil_context(), formats=("html",))["html"]
    html = doc.content.decode()
    _assert_html_inert(html, allowed_tags=HTML_TAGS)
    assert "49" not in html.split("<body>")[1].split("{{ 7*7 }}")[0][-50:]  # never evaluated
    assert "looploop" not in html  # the loop never ran


def test_review_markdown_renders_payloads_as_text() -> None:
    doc = render_review_document(evil_context(), formats=("markdown",))["markdown"]
    markdown = doc.content.decode()
    # CommonMark with raw HTML allowed (the most permissive reader) plus GFM tables.
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    parsed = _parse_html(html)
    for tag, attrs in parsed.tags:
        assert tag in {"h1", "h2", "h3", "p", "table", "thead", "tbody", "tr", "th", "td", "strong", "em",
                       "a", "img", "hr", "ul", "li", "code"}, f"<{tag}> {attrs}"  # fmt: skip
        if tag == "a":
            assert (attrs.get("href") or "").startswith("https://") and "evil" not in (
                attrs.get("href") or ""
            )
        if tag == "img":  # only our charts
            assert (attrs.get("src") or "").startswith("data:image/svg+xml;base64,")
    text = "".join(parsed.text)
    assert "<script>alert('x')</script>" in text and "{{ 7*7 }}" in text
    # One footer marker: the payload's copy was escaped.
    assert markdown.count("<!-- mg:footer -->") == 1


def _walk(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        found.append(node)
        for child in node.get("content", []):
            found.extend(_walk(child))
    return found


@pytest.mark.parametrize("kind", list(ApprovalKind))
def test_tickets_render_payloads_as_text(kind: ApprovalKind) -> None:
    ctx = builders.ticket_context(kind)
    ctx = replace(
        ctx,
        use_case=replace(ctx.use_case, name=PAYLOADS[4], description=EVIL, owner=PAYLOADS[2]),
        model=None if ctx.model is None else replace(ctx.model, description=EVIL),
        error=None if ctx.error is None else EVIL,
        risk_report=None if ctx.risk_report is None else evil_context().risk_report,
    )
    cloud = render_ticket(ctx, flavor="cloud")
    assert isinstance(cloud.description, dict)
    for node in _walk(cloud.description):
        assert node["type"] in {
            "doc", "heading", "paragraph", "text", "hardBreak", "bulletList", "orderedList", "listItem",
            "table", "tableRow", "tableHeader", "tableCell", "rule", "codeBlock",
        }, node["type"]  # fmt: skip
        for mark in node.get("marks", []):
            if mark["type"] == "link":
                assert mark["attrs"]["href"].startswith("https://") and "evil" not in mark["attrs"]["href"]
    blob = json.dumps(cloud.description)
    assert PAYLOADS[4] in blob  # the use case name, shown as typed, as text
    if kind is ApprovalKind.USE_CASE:  # the description is only in the use case ticket
        assert "<script>alert('x')</script>" in blob and "[click me|javascript:alert(1)]" in blob
    # The Data Center text: every wiki special in user text is escaped, so re-reading it as wiki
    # (our converter follows Jira's rules for the subset) finds no link to the payload's targets.
    wiki = render_ticket(ctx, flavor="datacenter").description
    assert isinstance(wiki, str)
    # {noformat} content (the error message) is literal in Jira: check everything outside it.
    outside = re.sub(r"\{noformat\}\n.*?\n\{noformat\}", "", wiki, flags=re.S)
    assert "{noformat}" not in outside
    assert "[click me|javascript" not in outside and "{{ 7*7 }}" not in outside
    for node in _walk(wiki_to_adf(wiki)):
        for mark in node.get("marks", []):
            if mark["type"] == "link":
                assert "evil" not in mark["attrs"]["href"] and "javascript" not in mark["attrs"]["href"]
    # The summary is plain text on one line, unescaped for Jira's plain summary field.
    summary = render_ticket(ctx, flavor="datacenter").summary
    assert "\n" not in summary and len(summary) <= 255 and "\\" not in summary.replace("\\\\", "")


def test_email_renders_payloads_as_text() -> None:
    ctx = builders.ticket_context(ApprovalKind.USE_CASE)
    ctx = replace(
        ctx, use_case=replace(ctx.use_case, name=PAYLOADS[0], owner=PAYLOADS[3]), model_group_name="g"
    )
    email = render_email(ctx)
    _assert_html_tags_only(email.html, {"html", "head", "meta", "title", "body", "p", "strong", "table", "tr",
                                        "th", "td", "code", "h3", "ul", "li", "a"})  # fmt: skip
    assert "<script>" in email.text  # plain text: shown as typed, nothing to interpret
    assert "\n" not in email.subject


def _assert_html_tags_only(html: str, allowed: set[str]) -> None:
    for tag, attrs in _parse_html(html).tags:
        assert tag in allowed, f"<{tag}> {attrs}"
        assert not any(name.startswith("on") for name in attrs)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_wiki_escaping_round_trips_to_the_same_text(payload: str) -> None:
    escaped = escape_wiki(payload)
    assert "\n" not in escaped
    assert unescape_wiki(escaped) == " ".join(line.strip() for line in payload.splitlines()).strip()
    nodes = [n for n in _walk(wiki_to_adf(escaped)) if n["type"] == "text"]
    assert all("marks" not in n for n in nodes)  # no bold, link, code: plain text only


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_escaping_gives_plain_text(payload: str) -> None:
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(escape_markdown(payload))
    parsed = _parse_html(html)
    assert [tag for tag, _ in parsed.tags] == ["p"], html
