"""A challenger's review document: the champion's identity and its risk test results side by side with the
challenger's (metric, champion value, challenger value, threshold, verdicts), and which data each was
computed on. Golden files: review_challenger.md / .html (MG_UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from model_governance.documents import render_review_document
from model_governance.documents.context import ChampionInfo
from model_governance.exceptions import InvalidInputError
from model_governance.risk_tests import RiskTestReport
from model_governance.risk_tests.report import ChampionComparison
from model_governance.services.review_context import OWN_DATA_NOTE, champion_info
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
    assert "| performance.auc | — | 0.7815 | 0.7312 | -0.0503 | \\>= 0.75 | PASS | **FAIL** |" in md
    assert (
        "| concept\\_drift.ks\\_pvalue | churn\\_score | not run | 0.12 | — | \\>= 0.05 | \\- | PASS |" in md
    )
    assert "- The challenger fails 1 gated test(s) the champion passes: performance.auc." in md
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


# -- on the same comparator data -------------------------------------------------------------------------

DIGEST = "5" * 64


def challenger_with_champion() -> dict[str, object]:
    """The challenger's report as its risk test step stores it: its comparator's provenance and the
    champion's results from the champion's score column of that data, on the same rows."""
    report = builders.report()
    report.inputs["comparator"] = {
        "source": "s3://ml-data/churn/comparator.parquet",
        "rows": 1000,
        "sha256": DIGEST,
        "version_id": "v7",
    }
    auc = next(r for r in report.results if r.test == "performance.auc")
    bias = next(r for r in report.results if r.test == "bias.ppr_disparity" and r.group == "yes")
    report.champion = ChampionComparison(
        score_column="champion_score",
        rows=1000,
        rows_compared=997,
        results=[
            replace(auc, value=0.7815, status="passed", passed=True),
            replace(bias, value=0.91, status="passed", passed=True),
        ],
        model={"package_arn": CHAMPION_ARN, "version": 2},
        dataset={"source": "s3://ml-data/churn/comparator.parquet", "sha256": DIGEST, "version_id": "v7"},
    )
    return report.to_dict()


class OneChampion:
    """The inventory's answer about the challenger's champion."""

    def champion_of(self, model: object) -> object:
        return SimpleNamespace(
            model_group=SimpleNamespace(name="churn-model"),
            version=2,
            package_arn=CHAMPION_ARN,
            status="Model Change in Progress",
        )

    def latest_risk_test_run(self, model: object) -> None:
        raise AssertionError("on the same data, the champion's own latest report is not used")


def test_on_the_same_data_the_document_states_the_shared_data_and_the_differences() -> None:
    info = champion_info(OneChampion(), SimpleNamespace(), challenger_with_champion(), run_key="mlc/3/rt")  # type: ignore[arg-type]
    assert info is not None and info.same_data is True
    assert info.shared_data["sha256"] == DIGEST and info.shared_data["rows_compared"] == 997
    ctx = builders.review_context(risk_report=challenger_with_champion(), champion=info)
    md = render_review_document(ctx, formats=("markdown",))["markdown"].content.decode()
    check_golden("review_challenger_same_data.md", md)
    part = md.split("### Champion vs challenger", 1)[1].split("## 6.", 1)[0]
    assert (
        f"| Both computed on | s3://ml-data/churn/comparator.parquet, SHA-256 {DIGEST}, S3 version v7, "
        "1000 rows (997 with a label and a challenger score, the rows both sides' results use), champion's "
        "scores from column champion\\_score |"
    ) in part
    assert "re-computed by this version's risk test run mlc/3/rt from column champion\\_score" in part
    assert "Both columns were computed on the same comparator data" in part
    assert "| performance.auc | — | 0.7815 | 0.7312 | -0.0503 | \\>= 0.75 | PASS | **FAIL** |" in part
    assert (
        "| bias.ppr\\_disparity | senior / yes | 0.91 | 0.74 | -0.17 | in \\[0.8, 1.2\\] | PASS | **FAIL** |"
        in part
    )
    assert (
        "fails 2 gated test(s) the champion passes: bias.ppr\\_disparity (senior / yes), performance.auc"
        in part
    )
    assert "data\\_drift" not in part, "only the champion's recomputed tests are compared"
    assert "Champion computed on" not in part and OWN_DATA_NOTE not in md


def test_a_comparison_on_other_data_is_not_shown_as_the_same_data() -> None:
    report = challenger_with_champion()
    report["champion"]["dataset"]["sha256"] = "6" * 64  # type: ignore[index]

    class Fallback(OneChampion):
        def latest_risk_test_run(self, model: object) -> None:
            return None

    info = champion_info(Fallback(), SimpleNamespace(), report)  # type: ignore[arg-type]
    assert info is not None and info.same_data is False and info.risk_report is None
