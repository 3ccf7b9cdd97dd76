"""Approval ticket and email templates: one per approval kind, per Jira flavour, golden files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from model_governance.config import ApprovalKind
from model_governance.documents.adf import wiki_to_adf
from model_governance.documents.tickets import render_email, render_ticket, ticket_template
from model_governance.exceptions import ConfigurationError, InvalidInputError
from tests.unit.documents import builders
from tests.unit.documents.golden_files import check_golden


@pytest.mark.parametrize("kind", list(ApprovalKind))
def test_datacenter_wiki_matches_golden(kind: ApprovalKind) -> None:
    ticket = render_ticket(builders.ticket_context(kind), flavor="datacenter")
    assert isinstance(ticket.description, str)
    check_golden(f"jira/{kind.value.lower()}.wiki", f"{ticket.summary}\n---\n{ticket.description}")


@pytest.mark.parametrize("kind", list(ApprovalKind))
def test_cloud_adf_matches_golden(kind: ApprovalKind) -> None:
    ticket = render_ticket(builders.ticket_context(kind), flavor="cloud")
    assert isinstance(ticket.description, dict)
    check_golden(
        f"jira/{kind.value.lower()}.adf.json", json.dumps(ticket.description, indent=1, sort_keys=True) + "\n"
    )


def _nodes(node: Any, kind: str) -> list[dict[str, Any]]:
    found = [node] if isinstance(node, dict) and node.get("type") == kind else []
    for child in node.get("content", []) if isinstance(node, dict) else []:
        found.extend(_nodes(child, kind))
    return found


@pytest.mark.parametrize("kind", list(ApprovalKind))
def test_every_ticket_says_what_to_check_the_links_and_what_done_and_rejected_do(kind: ApprovalKind) -> None:
    ticket = render_ticket(builders.ticket_context(kind), flavor="cloud")
    doc = ticket.description
    assert isinstance(doc, dict) and doc["type"] == "doc" and doc["version"] == 1
    headings = ["".join(t["text"] for t in h["content"]) for h in _nodes(doc, "heading")]
    assert "Links" in headings and "What your decision does" in headings
    assert "What to check" in headings
    hrefs = {
        m["attrs"]["href"] for t in _nodes(doc, "text") for m in t.get("marks", []) if m["type"] == "link"
    }
    assert "https://airflow.example.com/dags/sagemaker_model_implementation/runs/manual__1" in hrefs
    assert "https://airflow.example.com/model-governance/models/5" in hrefs
    if kind is not ApprovalKind.USE_CASE:
        assert any(h.startswith("https://us-east-1.console.aws.amazon.com/") for h in hrefs)
    texts = " ".join(t["text"] for t in _nodes(doc, "text"))
    assert "Done" in texts and "Rejected" in texts
    # The summary is one plain line under Jira's limit, with no wiki escapes left in it.
    assert ticket.summary and "\n" not in ticket.summary and len(ticket.summary) <= 255
    assert "\\" not in ticket.summary


def test_ticket_kinds_have_their_own_templates() -> None:
    assert ticket_template(ApprovalKind.TEST_RESULTS_REVIEW) == "jira/test_results_review.j2"
    assert ticket_template("PIA") == "jira/pia.j2"
    with pytest.raises(InvalidInputError, match="not one of"):
        ticket_template("LUNCH")


def test_failed_tests_are_listed_in_the_review_ticket() -> None:
    ticket = render_ticket(builders.ticket_context(ApprovalKind.TEST_RESULTS_REVIEW), flavor="cloud")
    tables = _nodes(ticket.description, "table")
    failures = tables[-1]
    rows = failures["content"]
    header = ["".join(t["text"] for t in _nodes(cell, "text")) for cell in rows[0]["content"]]
    assert header == ["Test", "Feature / group", "Value", "Threshold", "Result"]
    first = ["".join(t["text"] for t in _nodes(cell, "text")) for cell in rows[1]["content"]]
    assert first == ["bias.ppr_disparity", "senior / yes", "0.74", "in [0.8, 1.2]", "FAIL"]
    assert len(rows) == 1 + 4


def test_an_error_message_cannot_close_its_noformat_block() -> None:
    ticket = render_ticket(builders.ticket_context(ApprovalKind.RISK_TEST_FAILURE), flavor="datacenter")
    wiki = ticket.description
    assert isinstance(wiki, str)
    block = wiki.split("h3. Error\n", 1)[1].split("\n\n", 1)[0]
    assert block.startswith("{noformat}\n") and block.endswith("\n{noformat}")
    assert block.count("{noformat}") == 2  # the message's own {noformat} was broken up
    code = _nodes(wiki_to_adf(wiki), "codeBlock")
    assert len(code) == 1 and "KeyError: 'defaulted'" in code[0]["content"][0]["text"]


def test_an_unknown_flavour_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="flavour"):
        render_ticket(builders.ticket_context(ApprovalKind.PIA), flavor="server")


def test_a_ticket_template_can_be_overridden(tmp_path: Path) -> None:
    (tmp_path / "jira").mkdir()
    (tmp_path / "jira" / "pia.j2").write_text(
        "{% set summary %}DPO review: {{ model.group_name }}{% endset %}h2. Our PIA form\n"
        "Model {{ model.package_arn }}\n"
    )
    ticket = render_ticket(
        builders.ticket_context(ApprovalKind.PIA), flavor="datacenter", templates_dir=tmp_path
    )
    assert ticket.summary == "DPO review: churn-model"
    assert ticket.description == "h2. Our PIA form\nModel " + builders.PACKAGE_ARN.replace("-", "\\-") + "\n"
    # Other kinds still use ours.
    other = render_ticket(
        builders.ticket_context(ApprovalKind.PRODUCTION), flavor="datacenter", templates_dir=tmp_path
    )
    assert other.summary.startswith("Production approval:")


def test_a_ticket_template_without_a_summary_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "jira").mkdir()
    (tmp_path / "jira" / "production.j2").write_text("h2. no summary here\n")
    with pytest.raises(ConfigurationError, match="summary"):
        render_ticket(
            builders.ticket_context(ApprovalKind.PRODUCTION), flavor="cloud", templates_dir=tmp_path
        )


def test_a_ticket_template_with_a_missing_variable_names_it(tmp_path: Path) -> None:
    (tmp_path / "jira").mkdir()
    (tmp_path / "jira" / "use_case.j2").write_text("{% set summary %}x{% endset %}\n{{ use_case.budget }}\n")
    with pytest.raises(ConfigurationError) as caught:
        render_ticket(builders.ticket_context(ApprovalKind.USE_CASE), flavor="cloud", templates_dir=tmp_path)
    assert "jira/use_case.j2" in str(caught.value) and "budget" in str(caught.value)


def test_model_group_created_email_matches_golden() -> None:
    email = render_email(builders.ticket_context(ApprovalKind.USE_CASE))
    assert email.subject == "Model package group churn-model is ready for use case Customer churn prediction"
    check_golden("email/model_group_created.txt", email.text)
    check_golden("email/model_group_created.html", email.html)
    assert builders.GROUP_ARN in email.text and builders.GROUP_ARN in email.html


def test_email_renders_are_deterministic() -> None:
    ctx = builders.ticket_context(ApprovalKind.USE_CASE)
    assert render_email(ctx) == render_email(replace(ctx))


@pytest.mark.parametrize(
    ("attempt", "of", "says"),
    [
        (1, 3, "*Attempt 1 of 3* in this DAG run: 2 re-runs left after this one."),
        (2, 3, "*Attempt 2 of 3* in this DAG run: 1 re-run left after this one."),
        (3, 3, "*Attempt 3 of 3* in this DAG run: no re-run is left, so *Done* changes nothing"),
    ],
)
def test_the_risk_test_failure_ticket_says_which_attempt_failed(attempt: int, of: int, says: str) -> None:
    ctx = replace(builders.ticket_context(ApprovalKind.RISK_TEST_FAILURE), attempt=attempt, max_attempts=of)
    wiki = render_ticket(ctx, flavor="datacenter").description
    assert isinstance(wiki, str) and says in wiki
    assert ("(not this time: no re-run is left)" in wiki) is (attempt == of)


def test_an_attempt_beyond_the_allowed_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="attempt 4 is more than max_attempts 3"):
        replace(builders.ticket_context(ApprovalKind.RISK_TEST_FAILURE), attempt=4, max_attempts=3)
