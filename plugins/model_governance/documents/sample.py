"""A sample model review document from realistic generated data (``make sample-doc``).

It generates a credit-default data set (a fixed random seed, so every run is the same): a baseline of
20,000 rows and a comparator of 8,000 in which income and utilisation have drifted and one region group
gets fewer positive predictions. It runs the standard risk tests engine on them, fills a ``ReviewContext``
as the Airflow side would (use case, model package, snapshot, approvals, links), and writes the HTML,
Markdown and PDF documents plus the risk test report JSON to ``--out``.

Usage::

    python -m model_governance.documents.sample --out build/sample-doc [--formats html,markdown,pdf]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from model_governance.approvals import failed_gated_tests
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
    UseCaseInfo,
)
from model_governance.documents.review import RenderedDocument, render_review_document
from model_governance.risk_tests import RiskTestReport, run_risk_tests

SEED = 20260301
GENERATED_AT = datetime(2026, 3, 1, 14, 5, 9, tzinfo=UTC)
ACCOUNT = "123456789012"
REGION = "us-east-1"
GROUP = "retail-credit-default"
VERSION = 7
BASELINE_URI = f"s3://ml-data/{GROUP}/baseline.parquet"
COMPARATOR_URI = f"s3://ml-data/{GROUP}/comparator-2026-02.parquet"

SCHEMA = {
    "problem_type": "classification",
    "label": "defaulted",
    "score": "default_probability",
    "positive_class": 1,
    "decision_threshold": 0.5,
    "features": {
        "numeric": ["income", "credit_utilisation", "age", "loan_amount", "months_employed"],
        "categorical": ["home_ownership", "loan_purpose"],
    },
    "protected_attributes": ["region", "age_band"],
    "reference_groups": {"region": "north"},
    "min_group_size": 50,
    "bins": 10,
}


def credit_applications(rng: np.random.Generator, rows: int, *, drifted: bool) -> pa.Table:
    """Credit applications with a default label and a model score; ``drifted`` shifts some inputs."""
    income = rng.lognormal(mean=10.9 - (0.18 if drifted else 0.0), sigma=0.45, size=rows)
    utilisation = np.clip(rng.beta(2.0, 5.0 - (1.6 if drifted else 0.0), size=rows), 0, 1)
    age = np.clip(rng.normal(41, 12, size=rows), 18, 90).round()
    loan_amount = rng.gamma(shape=2.2, scale=6500, size=rows).round(-2)
    months_employed = rng.poisson(62 if not drifted else 58, size=rows).astype(float)
    home = rng.choice(["rent", "mortgage", "own", "other"], p=[0.41, 0.39, 0.17, 0.03], size=rows)
    purposes = ["debt consolidation", "home improvement", "car", "education", "medical"]
    purpose_p = [0.44, 0.21, 0.18, 0.09, 0.08] if not drifted else [0.40, 0.19, 0.17, 0.16, 0.08]
    purpose = rng.choice(purposes, p=purpose_p, size=rows)
    region = rng.choice(["north", "south", "east", "west"], p=[0.35, 0.25, 0.22, 0.18], size=rows)
    age_band = np.where(age < 30, "18-29", np.where(age < 50, "30-49", "50+"))
    # The true default process: low income and high utilisation raise the odds.
    logit = (
        -2.1
        - 1.3 * (np.log(income) - 10.9)
        + 3.2 * (utilisation - 0.29)
        + 0.000015 * (loan_amount - 14000)
        - 0.004 * (months_employed - 60)
        + np.where(home == "rent", 0.35, 0.0)
    )
    defaulted = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    # The model's score: the true logit seen through noise, and (in the comparator) a region offset
    # that lowers the south's scores, which shows as a positive-prediction-rate disparity.
    offset = np.where((region == "south") & drifted, -0.9, 0.0)
    score_logit = logit * 1.4 + 1.6 + rng.normal(0, 0.8, size=rows) + offset
    score = 1 / (1 + np.exp(-score_logit))
    return pa.table(
        {
            "defaulted": defaulted,
            "default_probability": score.round(6),
            "income": income.round(2),
            "credit_utilisation": utilisation.round(4),
            "age": age,
            "loan_amount": loan_amount,
            "months_employed": months_employed,
            "home_ownership": home,
            "loan_purpose": purpose,
            "region": region,
            "age_band": age_band,
        }
    )


def generate_report(seed: int = SEED) -> RiskTestReport:
    """The standard risk tests run on the generated baseline and comparator (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    baseline = credit_applications(rng, 20_000, drifted=False)
    comparator = credit_applications(rng, 8_000, drifted=True)
    report = run_risk_tests(baseline, comparator, SCHEMA, risk_level="High", workers=1)
    # In a real run the engine reads the snapshot's S3 objects and records their URIs; here the tables
    # were generated in memory, so record where the DAG would have read them from.
    report.inputs["baseline"]["source"] = BASELINE_URI
    report.inputs["comparator"]["source"] = COMPARATOR_URI
    return report


def _digest(label: str) -> str:
    return "sha256:" + hashlib.sha256(label.encode("utf-8")).hexdigest()


def sample_context(report: RiskTestReport, *, generated_at: datetime = GENERATED_AT) -> ReviewContext:
    """A ``ReviewContext`` as the model implementation DAG fills it, around ``report``."""
    group_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{GROUP}"
    package_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/{VERSION}"
    bucket = "s3://model-governance-artifacts"
    manifest = {"package": package_arn, "version": VERSION, "report": report.engine_version}
    content_hash = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode("utf-8")).hexdigest()
    snapshot_prefix = f"{bucket}/snapshots/{GROUP}/{VERSION}/{content_hash}"
    model_card = {
        "model_overview": {
            "model_description": "Gradient-boosted trees predicting 12-month default of retail credit "
            "applications.",
            "algorithm_type": "XGBoost 1.7 binary:logistic",
            "model_creator": "credit-risk-data-science",
        },
        "intended_uses": {
            "purpose_of_model": "Rank new applications by default risk for manual underwriting review.",
            "intended_uses": "Decision support only; a human underwriter makes every credit decision.",
            "factors_affecting_model_efficiency": "Income reporting changes; macroeconomic shocks.",
            "risk_rating": "High",
        },
        "business_details": {
            "business_problem": "Reduce credit losses without lowering approval rates.",
            "business_stakeholders": "Retail credit risk committee",
            "line_of_business": "Retail lending",
        },
        "training_details": {
            "training_observations": "2.4M applications, 2019-2024",
            "training_job_details": {
                "training_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/ccd-7"
            },
        },
        "additional_information": {
            "caveats_and_recommendations": "Re-validate after any bureau data change."
        },
    }
    return ReviewContext(
        use_case=UseCaseInfo(
            name="Retail credit default prediction",
            description=(
                "Predict the probability that a retail credit applicant defaults within 12 months, so that "
                "underwriters review the riskiest applications first.\n\n"
                "The model ranks applications; it does not approve or decline them."
            ),
            risk_level="High",
            owner="maria.lopez@example.com",
            business_entity="retail-bank",
            status="APPROVED",
        ),
        model=ModelInfo(
            group_name=GROUP,
            group_arn=group_arn,
            version=VERSION,
            package_arn=package_arn,
            governance_status="Pre Implementation Review",
            approval_status="PendingManualApproval",
            description="Retrained on 2024 applications with bureau attributes v3.",
            artifacts=(
                Asset(
                    "MODEL_DATA",
                    f"s3://ml-artifacts/{GROUP}/7/model.tar.gz",
                    hashlib.md5(b"model.tar.gz", usedforsecurity=False).hexdigest(),
                    version_id="kP2x7vQ0bLzT9mWc.4hN",
                ),
                Asset(
                    "INFERENCE_IMAGE",
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1",
                    _digest("xgboost:1.7-1"),
                ),
            ),
            # As the review context service reads them from the package's ModelMetrics reports.
            training_metrics={
                "auc": 0.8123,
                "accuracy": 0.8561,
                "precision": 0.6412,
                "recall": 0.5237,
                "f1": 0.5765,
                "confusion_matrix.0.0": 15904,
                "confusion_matrix.0.1": 881,
                "confusion_matrix.1.0": 1431,
                "confusion_matrix.1.1": 1784,
            },
            metric_reports=(
                MetricReport(
                    "ModelQuality.Statistics",
                    f"s3://ml-artifacts/{GROUP}/7/evaluation/statistics.json",
                    content_type="application/json",
                    content_digest=_digest("statistics.json"),
                    read=True,
                    digest_verified=True,
                    metrics=9,
                ),
                MetricReport(
                    "Bias.PostTrainingReport",
                    f"s3://ml-artifacts/{GROUP}/7/clarify/analysis.json",
                    content_type="application/json",
                    read=True,
                ),
            ),
            model_card=model_card,
            model_card_status="PendingReview",
            created_at=datetime(2026, 2, 26, 9, 12, 0, tzinfo=UTC),
        ),
        snapshot=SnapshotInfo(
            snapshot_id="17",
            content_hash=content_hash,
            uri=f"{snapshot_prefix}/manifest.json",
            assets=(
                Asset(
                    "BASELINE_DATA",
                    BASELINE_URI,
                    hashlib.md5(b"baseline", usedforsecurity=False).hexdigest(),
                    version_id="3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
                    sha256=hashlib.sha256(b"baseline").hexdigest(),
                ),
                Asset(
                    "COMPARATOR_DATA",
                    COMPARATOR_URI,
                    hashlib.md5(b"comparator", usedforsecurity=False).hexdigest(),
                    sha256=hashlib.sha256(b"comparator").hexdigest(),
                ),
                Asset("MODEL_DATA", f"s3://ml-artifacts/{GROUP}/7/model.tar.gz", _digest("model.tar.gz")),
            ),
            endpoint_config_name=f"{GROUP}-v7-config",
            suite_version=report.engine_version,
            created_at=datetime(2026, 3, 1, 13, 40, 0, tzinfo=UTC),
        ),
        risk_report=report,
        generated_at=generated_at,
        decision=DecisionRequest(
            kind=ApprovalKind.TEST_RESULTS_REVIEW,
            approvers=("model-risk-validators",),
            jira_key="MLC-142",
            requested_by="airflow (sagemaker_model_implementation)",
        ),
        approvals=(
            ApprovalRecord(
                kind=ApprovalKind.USE_CASE,
                jira_key="MLC-101",
                state="APPROVED",
                requested_at=datetime(2026, 1, 12, 10, 0, tzinfo=UTC),
                requested_by="maria.lopez@example.com",
                decided_by="Sam Chen",
                decided_at=datetime(2026, 1, 13, 16, 30, tzinfo=UTC),
                url="https://jira.example.com/browse/MLC-101",
            ),
            ApprovalRecord(
                kind=ApprovalKind.PIA,
                jira_key="MLC-139",
                state="APPROVED",
                requested_at=datetime(2026, 2, 26, 9, 20, tzinfo=UTC),
                requested_by="airflow",
                decided_by="Priya Natarajan",
                decided_at=datetime(2026, 2, 27, 11, 5, tzinfo=UTC),
                url="https://jira.example.com/browse/MLC-139",
            ),
            ApprovalRecord(
                kind=ApprovalKind.TEST_RESULTS_REVIEW,
                jira_key="MLC-121",
                state="APPROVED",
                requested_at=datetime(2026, 2, 2, 8, 0, tzinfo=UTC),
                requested_by="airflow",
                decided_by="Priya Natarajan",
                decided_at=datetime(2026, 2, 3, 17, 45, tzinfo=UTC),
                url="https://jira.example.com/browse/MLC-121",
                justification="Version 6: the income drift follows the bureau's new income bands; the "
                "validation team accepted it until version 7 is retrained on them.",
            ),
            ApprovalRecord(
                kind=ApprovalKind.TEST_RESULTS_REVIEW,
                jira_key="MLC-142",
                state="OPEN",
                requested_at=datetime(2026, 3, 1, 14, 5, tzinfo=UTC),
                requested_by="airflow",
                url="https://jira.example.com/browse/MLC-142",
            ),
        ),
        links=Links(
            airflow_run="https://airflow.example.com/dags/sagemaker_model_implementation/runs/"
            "manual__2026-03-01T13:39:00+00:00",
            model_package=f"https://{REGION}.console.aws.amazon.com/sagemaker/home?region={REGION}"
            f"#/model-registry/{GROUP}/{VERSION}",
            dashboard="https://airflow.example.com/model-governance/models/42",
            jira_ticket="https://jira.example.com/browse/MLC-142",
        ),
        policy=PolicyInfo(
            risk_level="High",
            one_person_many_gates=False,
            failed_tests_action="block",
            approver_groups={
                ApprovalKind.PIA: ("privacy-office",),
                ApprovalKind.TEST_RESULTS_REVIEW: ("model-risk-validators",),
                ApprovalKind.PRODUCTION: ("model-risk-committee",),
            },
            failed_tests=failed_gated_tests(report.to_dict()),
        ),
    )


def write_sample(
    out: Path, formats: Sequence[str] = ("html", "markdown", "pdf")
) -> dict[str, RenderedDocument]:
    """Generate, render and write the sample to ``out``; returns the documents by format."""
    out.mkdir(parents=True, exist_ok=True)
    report = generate_report()
    documents = render_review_document(sample_context(report), formats=formats)
    (out / "risk-test-report.json").write_text(report.to_json() + "\n", encoding="utf-8")
    for document in documents.values():
        (out / document.filename).write_bytes(document.content)
    return documents


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="folder to write the sample into")
    parser.add_argument("--formats", default="html,markdown,pdf", help="comma-separated: html,markdown,pdf")
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    documents = write_sample(args.out, formats)
    for document in documents.values():
        print(f"{args.out / document.filename}  {document.size} bytes  sha256 {document.sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
