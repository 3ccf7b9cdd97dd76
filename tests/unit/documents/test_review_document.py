"""The model review document: golden HTML and Markdown, determinism, the footer hash, contents, errors."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from model_governance.documents import render_review_document, verify_footer_hash
from model_governance.documents.context import Links, ReviewContext
from model_governance.documents.environment import TemplateSet, builtin_templates_dir, format_number
from model_governance.documents.review import FOOTER_MARKER, build_review_variables
from model_governance.exceptions import ConfigurationError, InvalidInputError
from tests.conftest import REPO_ROOT
from tests.unit.documents import builders
from tests.unit.documents.golden_files import check_golden


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    docs = render_review_document(builders.review_context(), formats=("html", "markdown"))
    return {fmt: doc.content for fmt, doc in docs.items()}


def test_html_matches_golden(rendered: dict[str, bytes]) -> None:
    check_golden("review.html", rendered["html"].decode("utf-8"))


def test_markdown_matches_golden(rendered: dict[str, bytes]) -> None:
    check_golden("review.md", rendered["markdown"].decode("utf-8"))


def test_same_inputs_give_identical_bytes_and_hashes() -> None:
    first = render_review_document(builders.review_context(), formats=("html", "markdown"))
    # The same facts handed over in another order (approvals, dict keys) are the same document.
    ctx = builders.review_context()
    shuffled = replace(
        ctx,
        approvals=tuple(reversed(ctx.approvals)),
        model=replace(ctx.model, training_metrics=dict(reversed(list(ctx.model.training_metrics.items())))),
    )
    second = render_review_document(shuffled, formats=("html", "markdown"))
    for fmt in ("html", "markdown"):
        assert first[fmt].content == second[fmt].content
        assert first[fmt].sha256 == second[fmt].sha256 == hashlib.sha256(first[fmt].content).hexdigest()


def test_a_changed_input_changes_the_hash() -> None:
    base = render_review_document(builders.review_context(), formats=("html",))["html"]
    later = render_review_document(
        builders.review_context(generated_at=datetime(2026, 3, 2, tzinfo=UTC)), formats=("html",)
    )["html"]
    assert base.body_sha256 != later.body_sha256
    assert base.sha256 != later.sha256


@pytest.mark.parametrize("fmt", ["html", "markdown"])
def test_footer_prints_the_hash_of_everything_above_it(fmt: str) -> None:
    doc = render_review_document(builders.review_context(), formats=(fmt,))[fmt]
    head, marker, footer = doc.content.partition(FOOTER_MARKER.encode())
    assert marker
    assert hashlib.sha256(head).hexdigest() == doc.body_sha256
    assert doc.body_sha256.encode() in footer
    assert verify_footer_hash(doc.content)
    tampered = doc.content.replace(b"Customer churn prediction", b"Customer churn predictiom", 1)
    assert not verify_footer_hash(tampered)


def test_the_sections_a_reviewer_needs_are_there(rendered: dict[str, bytes]) -> None:
    html = rendered["html"].decode()
    for heading in (
        "1. Decision requested",
        "2. Use case",
        "3. Model",
        "4. Snapshot",
        "5. Standard risk test results",
        "6. Approval policy and history",
        "7. Sign-off",
    ):
        assert f"<h2>{heading}</h2>" in html
    assert builders.PACKAGE_ARN in html and builders.SNAPSHOT_HASH in html
    assert "churn-model-v3" in html  # endpoint configuration
    assert "sha256:" + "01" * 32 in html  # asset digest
    assert "model-validators" in html and "MLC-7" in html
    assert "validation:auc" in html and "0.8012" in html  # training metrics
    assert "model_overview.model_description" in html and "Churn GBM" in html  # model card
    assert "Wq1pLz0d8vKx3yQe.9rT" in html  # the model artifact's S3 version


@pytest.mark.parametrize("fmt", ["html", "markdown"])
def test_metric_reports_policy_and_justifications_are_shown(rendered: dict[str, bytes], fmt: str) -> None:
    text = rendered[fmt].decode()
    if fmt == "markdown":
        text = text.replace("\\", "")  # Markdown escapes punctuation
    # Where the metrics came from, with the digest checked; an unreadable report is named, not hidden.
    assert "ModelQuality.Statistics" in text and "2 metrics read; digest verified" in text
    assert "shap.json" in text and "not used: could not be read (NoSuchKey)" in text
    # The policy of the risk level, and what it means for this version's failed gated tests.
    assert "Policy for risk level High" in text and "model-risk-committee" in text
    assert "One person may approve only one of the PIA" in text
    assert "2 gated risk tests failed (performance.auc, stability.csi/tenure" in text
    assert "so this review cannot be approved" in text
    assert "accepted until the Q2 retrain" in text  # the justification recorded with an approval


def test_the_policy_section_follows_the_failed_tests_action() -> None:
    for action, phrase in (
        ("justify", "approving this review needs the approver's justification"),
        ("allow", "the policy lets the reviewer approve them"),
    ):
        ctx = builders.review_context(policy=builders.policy(failed_tests_action=action))
        html = render_review_document(ctx, formats=("html",))["html"].content.decode()
        assert phrase.replace("'", "&#39;") in html
    passed = builders.review_context(policy=builders.policy(failed_tests=()))
    html = render_review_document(passed, formats=("html",))["html"].content.decode()
    assert "This version: no gated risk test failed." in html
    bare = render_review_document(builders.review_context(policy=None), formats=("html",))["html"]
    assert "Policy for risk level" not in bare.content.decode()


def test_failures_come_first_in_every_results_table(rendered: dict[str, bytes]) -> None:
    html = rendered["html"].decode()
    tables = re.findall(r'<table class="results">(.*?)</table>', html, re.S)
    assert len(tables) >= 5
    order = {"failed": 0, "error": 1, "not_applicable": 2, "passed": 3, "info": 4}
    for table in tables:
        statuses = re.findall(r'<span class="badge (\w+)">', table)
        assert statuses == sorted(statuses, key=order.__getitem__), statuses
    # The failures table lists exactly the four failed results.
    failures = tables[0]
    assert re.findall(r'<span class="badge (\w+)">', failures) == ["failed"] * 4


def test_charts_are_inline_svg_with_fixed_ids(rendered: dict[str, bytes]) -> None:
    html = rendered["html"].decode()
    ids = re.findall(r'<svg xmlns="http://www.w3.org/2000/svg" id="([a-z0-9-]+)"', html)
    # Three drifted features (tenure_months fails so it is first), the score, two bias attributes.
    assert ids == [
        "chart-drift-1",
        "chart-drift-2",
        "chart-drift-3",
        "chart-score",
        "chart-bias-1",
        "chart-bias-2",
    ]
    assert "Baseline vs comparator: tenure_months" in html.split('id="chart-drift-1"')[1][:600]
    assert "pass band [0.8, 1.2]" in html
    # Markdown embeds the same charts as data-URI images (inline SVG is stripped by most viewers).
    markdown = rendered["markdown"].decode()
    assert len(re.findall(r"!\[[^\]]*\]\(data:image/svg\+xml;base64,[A-Za-z0-9+/=]+\)", markdown)) == 6


def test_the_document_is_self_contained(rendered: dict[str, bytes]) -> None:
    html = rendered["html"].decode()
    assert "<script" not in html.lower()
    assert not re.search(r"<(img|link|iframe|object|embed)\b", html)
    assert not re.search(r"url\(", html)
    # Only the links the context gave, and only http(s) ones.
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith("https://") for h in hrefs)


def test_secrets_never_reach_the_document() -> None:
    ctx = builders.review_context()
    leaky = replace(
        ctx,
        model=replace(
            ctx.model,
            model_card={
                "model_overview": {"model_description": "uses key AKIAABCDEFGHIJKLMNOP for data"},
                "additional_information": {"api_key": "sk-live-123", "db_password": "hunter2"},
            },
            artifacts=(
                builders.model().artifacts[0],
                type(builders.model().artifacts[0])(
                    "MODEL_DATA",
                    "https://bucket.s3.amazonaws.com/m.tar.gz?X-Amz-Algorithm=AWS4&X-Amz-Signature=abcdef",
                ),
            ),
        ),
        extra={"token": "t0ps3cret"},
    )
    for doc in render_review_document(leaky, formats=("html", "markdown")).values():
        text = doc.content.decode()
        for secret in (
            "AKIAABCDEFGHIJKLMNOP",
            "sk-live-123",
            "hunter2",
            "X-Amz-Signature",
            "abcdef",
            "t0ps3cret",
        ):
            assert secret not in text
        assert "[redacted]" in text or "\\[redacted\\]" in text


def test_number_formatting_is_stable() -> None:
    assert format_number(0.123456) == "0.1235"
    assert format_number(1.0) == "1"
    assert format_number(12345.678) == "12346"
    assert format_number(3.2e-137) == "3.200e-137"
    assert format_number(None) == "n/a"
    assert format_number(float("nan")) == "NaN"
    assert format_number(7) == "7"


def test_variables_are_plain_values() -> None:
    variables = build_review_variables(builders.review_context())
    assert variables["risk"]["verdict"] == "failed"
    assert variables["risk"]["summary"] == {
        "passed": 7,
        "failed": 4,
        "error": 0,
        "not_applicable": 1,
        "info": 3,
    }
    assert [a["jira_key"] for a in variables["approvals"]] == ["MLC-1", "MLC-3", "MLC-5"]  # oldest first


# -- errors ---------------------------------------------------------------------------------------------


def _override(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return tmp_path


def test_a_configured_templates_folder_overrides_ours(tmp_path: Path) -> None:
    folder = _override(
        tmp_path,
        "review_document/review.md.j2",
        "# Our own review of {{ model.group_name }}\n<!-- mg:footer -->\nhash {{ document.sha256 }}\n",
    )
    docs = render_review_document(
        builders.review_context(), formats=("html", "markdown"), templates_dir=folder
    )
    markdown = docs["markdown"].content.decode()
    assert markdown.startswith("# Our own review of churn-model\n")
    assert verify_footer_hash(docs["markdown"].content)
    # Templates not overridden still come from ours.
    assert "<h2>1. Decision requested</h2>" in docs["html"].content.decode()


def test_a_missing_variable_names_the_template_and_the_variable(tmp_path: Path) -> None:
    folder = _override(
        tmp_path,
        "review_document/review.md.j2",
        "line one\n{{ model.group_name }}\n{{ model.no_such_field }}\n"
        "<!-- mg:footer -->{{ document.sha256 }}\n",
    )
    with pytest.raises(ConfigurationError) as caught:
        render_review_document(builders.review_context(), formats=("markdown",), templates_dir=folder)
    message = str(caught.value)
    assert "review_document/review.md.j2" in message
    assert "line 3" in message
    assert "no_such_field" in message


def test_an_undefined_top_level_variable_is_an_error_not_blank(tmp_path: Path) -> None:
    folder = _override(tmp_path, "review_document/review.md.j2", "{{ reviewer_name }}<!-- mg:footer -->\n")
    with pytest.raises(ConfigurationError, match="reviewer_name"):
        render_review_document(builders.review_context(), formats=("markdown",), templates_dir=folder)


def test_a_broken_template_names_the_file_and_line(tmp_path: Path) -> None:
    folder = _override(
        tmp_path, "review_document/review.html.j2", "<p>ok</p>\n{% if model %}\n<p>never closed\n"
    )
    with pytest.raises(ConfigurationError) as caught:
        render_review_document(builders.review_context(), formats=("html",), templates_dir=folder)
    assert "review.html.j2" in str(caught.value) and "syntax error" in str(caught.value)


def test_the_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    folder = _override(
        tmp_path,
        "review_document/review.md.j2",
        "{{ model.__class__.__mro__[1].__subclasses__() }}<!-- mg:footer -->{{ document.sha256 }}",
    )
    with pytest.raises(ConfigurationError):
        render_review_document(builders.review_context(), formats=("markdown",), templates_dir=folder)


def test_the_template_must_keep_the_footer_marker(tmp_path: Path) -> None:
    folder = _override(tmp_path, "review_document/review.md.j2", "# review {{ document.sha256 }}\n")
    with pytest.raises(ConfigurationError, match="footer marker"):
        render_review_document(builders.review_context(), formats=("markdown",), templates_dir=folder)


def test_a_missing_templates_folder_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        TemplateSet(tmp_path / "nope")


def test_bad_context_values_are_refused_by_name() -> None:
    with pytest.raises(InvalidInputError, match="generated_at"):
        builders.review_context(generated_at=datetime(2026, 3, 1))  # naive
    with pytest.raises(InvalidInputError, match=r"links\.dashboard"):
        Links(dashboard="javascript:alert(1)")
    with pytest.raises(InvalidInputError, match="risk_level"):
        builders.use_case(risk_level="Extreme")
    with pytest.raises(InvalidInputError, match="formats"):
        render_review_document(builders.review_context(), formats=("docx",))
    with pytest.raises(InvalidInputError, match="ReviewContext"):
        render_review_document("not a context", formats=("html",))  # type: ignore[arg-type]


def test_ours_are_the_repository_templates() -> None:
    assert builtin_templates_dir().resolve() == (REPO_ROOT / "templates").resolve()
    assert isinstance(builders.review_context(), ReviewContext)


def test_the_report_json_form_renders_the_same_document() -> None:
    from_object = render_review_document(builders.review_context(), formats=("html",))["html"]
    as_json = builders.report().to_dict()
    ctx = builders.review_context(risk_report=as_json)
    from_json = render_review_document(ctx, formats=("html",))["html"]
    assert from_json.content == from_object.content
    with pytest.raises(InvalidInputError, match=r"risk_report must be a RiskTestReport"):
        builders.review_context(risk_report=["not", "a", "report"])
