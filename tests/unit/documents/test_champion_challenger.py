"""A challenger's review document: the champion's identity and its risk test results side by side with the
challenger's (metric, champion value, challenger value, threshold, verdicts), and which data each was
computed on. Golden files: review_challenger.md / .html (MG_UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from model_governance.documents import render_review_document
from model_governance.documents.context import ChampionInfo
from model_governance.exceptions import InvalidInputError
from model_governance.risk_tests import RiskTestReport
from model_governance.services.review_context import OWN_DATA_NOTE
from tests.unit.documents import builders
from tests.unit.documents.golden_files import check_golden

CHAMPION_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-model/2"


def champion_report() -> RiskTestReport:
    report = builders.report()
    values = {"performance.auc": (0.7815, "passed"), "stability.psi": (0.05, "passed")}
    results = [
        replace(r, value=values[r.test][0], status=values[r.test][1], passed=True) if r.test in values else r
        for r in report.results
        if r.test != "concept_drift.ks_pvalue"  # a test the champion's suite did not run
    ]
    inputs = {
        "baseline": {"source": "s3://ml-data/churn/v2/baseline.parquet", "rows": 900},
        "comparator": {"source": "s3://ml-data/churn/v2/comparator.parquet", "rows": 800},
    }
    return replace(report, results=results, inputs=inputs)


def champion(**changes: object) -> ChampionInfo:
    fields: dict[str, object] = {
        "group_name": "churn-model",
        "version": 2,
        "package_arn": CHAMPION_ARN,
        "governance_status": "Model Change in Progress",
        "risk_report": champion_report(),
        "report_source": "its latest risk test run mlc/churn-2/run_risk_tests, finished 2025-11-02 10:00 UTC",
        "note": OWN_DATA_NOTE,
        **changes,
    }
    return ChampionInfo(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    docs = render_review_document(builders.review_context(champion=champion()), formats=("html", "markdown"))
    return {fmt: doc.content.decode("utf-8") for fmt, doc in docs.items()}


def test_markdown_matches_golden(rendered: dict[str, str]) -> None:
    check_golden("review_challenger.md", rendered["markdown"])


def test_html_matches_golden(rendered: dict[str, str]) -> None:
    check_golden("review_challenger.html", rendered["html"])


def test_side_by_side_rows_and_the_data_each_was_computed_on(rendered: dict[str, str]) -> None:
    md = rendered["markdown"]
    assert "### Champion vs challenger" in md
    assert CHAMPION_ARN in md
    assert "s3://ml-data/churn/v2/comparator.parquet" in md  # the champion's data
    assert "s3://ml-data/churn/comparator.parquet" in md  # the challenger's data
    assert "not re-computed on the challenger" in md
    assert "| performance.auc | — | 0.7815 | 0.7312 | \\>= 0.75 | PASS | **FAIL** |" in md
    assert "| concept\\_drift.ks\\_pvalue | churn\\_score | not run | 0.12 | \\>= 0.05 | \\- | PASS |" in md
    assert 'id="champion"' in rendered["html"]


def test_no_champion_no_section() -> None:
    md = render_review_document(builders.review_context(), formats=("markdown",))["markdown"]
    assert b"Champion vs challenger" not in md.content


def test_a_champion_without_a_report_is_said_so() -> None:
    ctx = builders.review_context(
        champion=champion(risk_report=None, report_source="", note="The champion has no risk test report.")
    )
    md = render_review_document(ctx, formats=("markdown",))["markdown"].content.decode()
    assert "none: the champion has no risk test report" in md
    assert "| performance.auc |" in md and "not run" in md


def test_champion_is_validated() -> None:
    with pytest.raises(InvalidInputError, match=r"champion\.package_arn"):
        champion(package_arn="churn-model/2")
    with pytest.raises(InvalidInputError, match=r"ReviewContext\.champion"):
        builders.review_context(champion={"version": 2})
