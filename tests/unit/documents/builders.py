"""Fixed inputs for the document tests: a small risk test report built through the engine's constructors,
and review / ticket contexts around it. Hand-built (not run through the engine) so the golden files only
change when the renderer or the templates change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from model_governance.config import ApprovalKind
from model_governance.documents.context import (
    ApprovalRecord,
    Asset,
    DecisionRequest,
    Links,
    MetricReport,
    ModelInfo,
    PolicyInfo,
    ReviewContext,
    SnapshotInfo,
    TicketContext,
    UseCaseInfo,
)
from model_governance.risk_tests import (
    BinnedDistribution,
    GroupDisparity,
    RiskTestReport,
    TestResult,
    resolve_thresholds,
)

GENERATED_AT = datetime(2026, 3, 1, 14, 5, 9, tzinfo=UTC)
GROUP_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/churn-model"
PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-model/3"
SNAPSHOT_HASH = "ab" * 32


def report() -> RiskTestReport:
    thresholds = resolve_thresholds("High", {"High": {"performance.auc": 0.75}})
    bound = thresholds.for_metric

    def result(test: str, value: float | None, status: str, **kw: Any) -> TestResult:
        passed = {"passed": True, "failed": False}.get(status)
        return TestResult(
            test=test,
            dataset=kw.pop("dataset", "both"),
            value=value,
            threshold=bound(test),
            passed=passed,
            status=status,  # type: ignore[arg-type]
            **kw,
        )

    results = [
        result("performance.auc", 0.7312, "failed", dataset="comparator"),
        result("performance.accuracy", 0.81, "info", dataset="comparator"),
        result("data_drift.ks_pvalue", 0.0004, "failed", feature="tenure_months"),
        result("data_drift.ks_statistic", 0.142, "info", feature="tenure_months"),
        result("data_drift.ks_pvalue", 0.41, "passed", feature="monthly_charges"),
        result("data_drift.ks_statistic", 0.031, "info", feature="monthly_charges"),
        result("data_drift.chi2_pvalue", 0.22, "passed", feature="contract"),
        result("stability.csi", 0.27, "failed", feature="tenure_months"),
        result("stability.csi", 0.04, "passed", feature="monthly_charges"),
        result("stability.csi", 0.01, "passed", feature="contract"),
        result("stability.psi", 0.09, "passed"),
        result("concept_drift.ks_pvalue", 0.12, "passed", feature="churn_score"),
        result("bias.ppr_disparity", 1.05, "passed", dataset="comparator", feature="gender", group="female"),
        result("bias.ppr_disparity", 0.74, "failed", dataset="comparator", feature="senior", group="yes"),
        result(
            "bias.ppr_disparity",
            None,
            "not_applicable",
            dataset="comparator",
            feature="senior",
            group="unknown",
            reason="12 rows, fewer than min_group_size 30",
        ),
    ]
    distributions = [
        BinnedDistribution(
            feature="tenure_months",
            kind="numeric",
            bins=["<= 6", "(6, 24]", "(24, 48]", "> 48"],
            edges=[6.0, 24.0, 48.0],
            baseline_counts=[250, 250, 250, 250],
            comparator_counts=[420, 280, 180, 120],
            comparator_missing=3,
        ),
        BinnedDistribution(
            feature="monthly_charges",
            kind="numeric",
            bins=["<= 35.5", "(35.5, 70.25]", "> 70.25"],
            edges=[35.5, 70.25],
            baseline_counts=[300, 400, 300],
            comparator_counts=[310, 390, 300],
        ),
        BinnedDistribution(
            feature="contract",
            kind="categorical",
            bins=["month-to-month", "one year", "two year"],
            edges=[],
            baseline_counts=[550, 250, 200],
            comparator_counts=[570, 240, 190],
        ),
    ]
    score = BinnedDistribution(
        feature="churn_score",
        kind="numeric",
        bins=["<= 0.2", "(0.2, 0.5]", "> 0.5"],
        edges=[0.2, 0.5],
        baseline_counts=[500, 300, 200],
        comparator_counts=[450, 320, 230],
    )
    disparities = [
        GroupDisparity("gender", "male", True, 510, 120, 0.2353, 130, 100, 0.7692, None, None),
        GroupDisparity("gender", "female", False, 490, 121, 0.2469, 125, 98, 0.784, 1.05, 1.019),
        GroupDisparity("senior", "no", True, 800, 200, 0.25, 210, 160, 0.7619, None, None),
        GroupDisparity("senior", "yes", False, 188, 35, 0.1862, 40, 28, 0.7, 0.7447, 0.9187),
        GroupDisparity("senior", "unknown", False, 12, 3, 0.25, 2, 1, 0.5, 1.0, 0.656, "too small"),
    ]
    return RiskTestReport(
        problem_type="classification",
        risk_level="High",
        thresholds=thresholds,
        inputs={
            "baseline": {"source": "s3://ml-data/churn/baseline.parquet", "rows": 1000},
            "comparator": {"source": "s3://ml-data/churn/comparator.parquet", "rows": 1000},
        },
        results=results,
        distributions=distributions,
        score_distribution=score,
        group_disparities=disparities,
        warnings=["3 comparator rows had no label and were left out of the performance tests"],
    )


def use_case(**changes: Any) -> UseCaseInfo:
    base = UseCaseInfo(
        name="Customer churn prediction",
        description=(
            "Predict which subscribers will cancel within 90 days.\n\nUsed to target retention offers."
        ),
        risk_level="High",
        owner="ana.silva@example.com",
        business_entity="telco-eu",
        status="APPROVED",
        data_science_email="churn-ds@example.com",
    )
    return replace(base, **changes)


def model(**changes: Any) -> ModelInfo:
    base = ModelInfo(
        group_name="churn-model",
        group_arn=GROUP_ARN,
        version=3,
        package_arn=PACKAGE_ARN,
        governance_status="Pre Implementation Review",
        approval_status="PendingManualApproval",
        description="Gradient boosting on 2025 data.",
        artifacts=(
            Asset(
                "MODEL_DATA",
                "s3://ml-artifacts/churn/3/model.tar.gz",
                "sha256:" + "cd" * 32,
                version_id="Wq1pLz0d8vKx3yQe.9rT",
            ),
        ),
        training_metrics={"validation:auc": 0.8012, "train:auc": 0.85},
        metric_reports=(
            MetricReport(
                "ModelQuality.Statistics",
                "s3://ml-artifacts/churn/3/evaluation.json",
                content_type="application/json",
                content_digest="sha256:" + "ef" * 32,
                read=True,
                digest_verified=True,
                metrics=2,
            ),
            MetricReport(
                "Explainability.Report",
                "s3://ml-artifacts/churn/3/shap.json",
                content_type="application/json",
                problem="could not be read (NoSuchKey)",
            ),
        ),
        model_card={"model_overview": {"model_description": "Churn GBM", "model_owner": "ds-team"}},
        model_card_status="Draft",
        created_at=datetime(2026, 2, 20, 8, 0, tzinfo=UTC),
    )
    return replace(base, **changes)


def snapshot() -> SnapshotInfo:
    return SnapshotInfo(
        snapshot_id="9",
        content_hash=SNAPSHOT_HASH,
        uri=f"s3://governance/snapshots/churn-model/3/{SNAPSHOT_HASH}/manifest.json",
        assets=(
            Asset(
                "BASELINE_DATA",
                "s3://ml-data/churn/baseline.parquet",
                "sha256:" + "01" * 32,
                version_id="3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
                sha256="a1" * 32,
            ),
            Asset(
                "COMPARATOR_DATA",
                "s3://ml-data/churn/comparator.parquet",
                "sha256:" + "02" * 32,
                sha256="c2" * 32,
            ),
        ),
        endpoint_config_name="churn-model-v3",
        suite_version="1.0.0",
        created_at=datetime(2026, 3, 1, 13, 0, tzinfo=UTC),
    )


def links() -> Links:
    return Links(
        airflow_run="https://airflow.example.com/dags/sagemaker_model_implementation/runs/manual__1",
        model_package="https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/models/3",
        dashboard="https://airflow.example.com/model-governance/models/5",
        document="https://airflow.example.com/model-governance/documents/5",
        jira_ticket="https://jira.example.com/browse/MLC-7",
    )


def review_context(**changes: Any) -> ReviewContext:
    base = ReviewContext(
        use_case=use_case(),
        model=model(),
        snapshot=snapshot(),
        risk_report=report(),
        generated_at=GENERATED_AT,
        decision=DecisionRequest(
            kind=ApprovalKind.TEST_RESULTS_REVIEW, approvers=("model-validators",), jira_key="MLC-7"
        ),
        approvals=(
            ApprovalRecord(
                kind=ApprovalKind.PIA,
                jira_key="MLC-5",
                state="APPROVED",
                requested_at=datetime(2026, 2, 21, 9, 0, tzinfo=UTC),
                requested_by="airflow",
                decided_by="Priya N",
                decided_at=datetime(2026, 2, 22, 10, 0, tzinfo=UTC),
                url="https://jira.example.com/browse/MLC-5",
            ),
            ApprovalRecord(
                kind=ApprovalKind.USE_CASE,
                jira_key="MLC-1",
                state="APPROVED",
                requested_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
                requested_by="ana.silva@example.com",
                decided_by="Sam C",
                decided_at=datetime(2026, 1, 6, 9, 0, tzinfo=UTC),
            ),
            ApprovalRecord(
                kind=ApprovalKind.TEST_RESULTS_REVIEW,
                jira_key="MLC-3",
                state="APPROVED",
                requested_at=datetime(2026, 1, 20, 9, 0, tzinfo=UTC),
                requested_by="airflow",
                decided_by="Lee K",
                decided_at=datetime(2026, 1, 21, 15, 0, tzinfo=UTC),
                justification="Tenure drift follows the January price change; accepted until the Q2 retrain.",
            ),
        ),
        links=links(),
        policy=policy(),
    )
    return replace(base, **changes)


def policy(**changes: Any) -> PolicyInfo:
    base = PolicyInfo(
        risk_level="High",
        one_person_many_gates=False,
        failed_tests_action="block",
        approver_groups={
            ApprovalKind.TEST_RESULTS_REVIEW: ("model-validators",),
            ApprovalKind.PRODUCTION: ("model-risk-committee", "cro-office"),
        },
        failed_tests=("performance.auc", "stability.csi/tenure_months"),
    )
    return replace(base, **changes)


def ticket_context(kind: ApprovalKind, **changes: Any) -> TicketContext:
    with_model = kind is not ApprovalKind.USE_CASE
    base = TicketContext(
        decision=DecisionRequest(kind=kind, approvers=("model-validators",), jira_key="MLC-7"),
        use_case=use_case(),
        model=model() if with_model else None,
        snapshot=snapshot() if with_model else None,
        links=links(),
        risk_report=report()
        if kind in (ApprovalKind.TEST_RESULTS_REVIEW, ApprovalKind.RISK_TEST_FAILURE)
        else None,
        error="Traceback (most recent call last):\n  KeyError: 'defaulted'\n{noformat}*evil*"
        if kind is ApprovalKind.RISK_TEST_FAILURE
        else None,
        document_sha256="ef" * 32 if kind is ApprovalKind.TEST_RESULTS_REVIEW else None,
        model_group_name="churn-model",
        model_group_arn=GROUP_ARN,
    )
    return replace(base, **changes)
