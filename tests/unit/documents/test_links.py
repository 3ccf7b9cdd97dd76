"""The pieces documents, tickets and emails share: a template's ``link`` in every output format, the links
of a context by name and an approval kind read from a value."""

from __future__ import annotations

import pytest
from jinja2 import DictLoader

from model_governance.config import ApprovalKind
from model_governance.documents.context import Links, approval_kind
from model_governance.documents.environment import make_environment
from model_governance.documents.escaping import escape_markdown, escape_wiki
from model_governance.documents.review import build_review_variables
from model_governance.documents.tickets import ticket_variables
from model_governance.exceptions import InvalidInputError
from tests.unit.documents import builders

URL = "https://jira.example.com/browse/MLC-7"


def _link(flavor: str, text: object, url: object) -> str:
    env = make_environment(flavor, DictLoader({"t": "{{ link(text, url) }}"}))  # type: ignore[arg-type]
    return env.get_template("t").render(text=text, url=url)


@pytest.mark.parametrize(
    ("flavor", "linked", "label_only", "url_only"),
    [
        ("html", f'<a href="{URL}">a &lt;b&gt;</a>', "a &lt;b&gt;", f'<a href="{URL}">{URL}</a>'),
        ("markdown", f"[{escape_markdown('a <b>')}](<{URL}>)", escape_markdown("a <b>"), None),
        ("wiki", f"[{escape_wiki('a <b>')}|{URL}]", escape_wiki("a <b>"), None),
        ("text", f"a <b> <{URL}>", "a <b>", URL),
    ],
)
def test_a_link_in_each_format(flavor: str, linked: str, label_only: str, url_only: str | None) -> None:
    assert _link(flavor, "a <b>", URL) == linked
    # Not an http(s) URL: the label alone, never a link.
    assert _link(flavor, "a <b>", "javascript:alert(1)") == label_only
    # No text: the URL is the label (plain text says it once).
    if url_only is not None:
        assert _link(flavor, None, URL) == url_only
        assert _link(flavor, "", URL) == url_only


def test_links_as_dict_names_every_link_in_field_order() -> None:
    links = builders.links()
    assert links.as_dict() == {
        "airflow_run": links.airflow_run,
        "model_package": links.model_package,
        "dashboard": links.dashboard,
        "document": links.document,
        "jira_ticket": links.jira_ticket,
    }
    assert Links().as_dict() == dict.fromkeys(links.as_dict())


def test_approval_kind_reads_a_kind_and_names_the_field_when_it_cannot() -> None:
    assert approval_kind("PIA", "decision.kind") is ApprovalKind.PIA
    assert approval_kind(ApprovalKind.PIA, "decision.kind") is ApprovalKind.PIA
    with pytest.raises(InvalidInputError, match=r"^decision\.kind 'nope' is not one of USE_CASE, "):
        approval_kind("nope", "decision.kind")


def test_documents_and_tickets_name_the_model_decision_and_links_alike() -> None:
    review = build_review_variables(builders.review_context())
    ticket = ticket_variables(builders.ticket_context(ApprovalKind.TEST_RESULTS_REVIEW))
    shared = ("group_name", "group_arn", "version", "package_arn", "governance_status", "approval_status")
    assert {k: ticket["model"][k] for k in shared} == {k: review["model"][k] for k in shared}
    assert ticket["model"]["training_metrics"] == review["model"]["training_metrics"] != []
    assert set(ticket["decision"]) == {"approvers", "jira_key", "requested_by", "due_at"}
    assert set(review["decision"]) == {"kind", "label", *ticket["decision"]}
    assert ticket["links"] == review["links"] == builders.links().as_dict()
