"""The review document's context from a real package in the AWS sandbox: a version registered with a model
card and ModelMetrics pointing at JSON reports in S3 is snapshotted by the snapshot operator, and
``build_review_context`` shows its card (without governance's links), its metrics read from S3 with the
digest checked, its artifacts with digests, the pinned data, the High risk policy and the justification
recorded with an approval. A report changed after registration is refused; a deleted one is named."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from model_governance.config import ApprovalKind, load_config
from model_governance.documents import render_review_document
from model_governance.inventory import Model, Snapshot
from model_governance.operators.snapshot import CreateSnapshotOperator
from model_governance.services.review_context import MetricsReportChangedError, build_review_context
from tests.integration.mlc.conftest import IMAGE, GovernedModel
from tests.unit.documents import builders

pytestmark = pytest.mark.integration

QUALITY = {
    "version": 0.0,
    "dataset": {"item_count": 2000, "evaluation_time": "2026-02-20T08:00:00Z"},
    "binary_classification_metrics": {
        "auc": {"value": 0.9134, "standard_deviation": 0.0041},
        "accuracy": {"value": 0.8625, "standard_deviation": 0.0052},
        "confusion_matrix": {"0": {"0": 1180, "1": 120}, "1": {"0": 155, "1": 545}},
        "receiver_operating_characteristic_curve": {
            "false_positive_rates": [0.0, 0.1, 1.0],
            "true_positive_rates": [0.0, 0.7, 1.0],
        },
    },
}
BIAS = {"post_training_bias_metrics": {"facets": {"gender": [{"value_or_threshold": "f", "metrics": []}]}}}
CARD = {
    "model_overview": {"model_creator": "churn-ds"},
    "intended_uses": {"purpose_of_model": "Rank subscribers by churn risk", "risk_rating": "Low"},
    "training_details": {"training_observations": "converged after 40 rounds"},
    "additional_information": {
        # the data scientist's own detail, and a governance link the sync would have written
        "custom_details": {"owner_team": "churn-ds", "dashboard": "https://airflow.test/models/1"}
    },
}


def _register_with_card_and_metrics(model: GovernedModel) -> tuple[Model, dict[str, str]]:
    """A second version of the model's group, registered with a model card and ModelMetrics."""
    quality = json.dumps(QUALITY).encode()
    uris = {
        "quality": model.put("churn/v2/evaluation/statistics.json", quality),
        "bias": model.put("churn/v2/clarify/analysis.json", json.dumps(BIAS).encode()),
    }
    container = {"Image": IMAGE, "ModelDataUrl": f"s3://{model.data_bucket}/churn/model.tar.gz"}
    arn = model.aws.sagemaker.create_model_package(
        ModelPackageGroupName=model.group,
        ModelPackageDescription="churn classifier v2, with its evaluation",
        InferenceSpecification={
            "Containers": [container],
            "SupportedContentTypes": ["application/x-parquet"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties=model.metadata,
        ModelApprovalStatus="PendingManualApproval",
        ModelCard={"ModelCardContent": json.dumps(CARD), "ModelCardStatus": "Draft"},
        ModelMetrics={
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "ContentDigest": "sha256:" + hashlib.sha256(quality).hexdigest(),
                    "S3Uri": uris["quality"],
                }
            },
            "Bias": {"PostTrainingReport": {"ContentType": "application/json", "S3Uri": uris["bias"]}},
        },
    )["ModelPackageArn"]
    record, _ = model.inventory.upsert_model(
        package_arn=arn, status="Pre Implementation Review", actor="test", reason="onboarded"
    )
    return model.inventory.get_model(record.id), uris  # as the operator has it (its group loaded)


def _snapshot(model: GovernedModel, version: Model) -> Snapshot:
    operator = CreateSnapshotOperator(task_id="create_snapshot", model_id=version.id)
    result = operator.execute(model.context("create_snapshot"))  # type: ignore[arg-type]
    return model.inventory.get_snapshot(int(result["snapshot_id"]))


def _tested_and_approved(model: GovernedModel, version: Model, snapshot: Snapshot) -> None:
    inventory = model.inventory
    key = f"sagemaker_model_implementation/manual__rc/run_risk_tests/{version.id}"
    inventory.start_risk_test_run(version, run_key=key, snapshot_id=snapshot.id)
    report = builders.report().to_dict()
    inventory.finish_risk_test_run(key, passed=False, report=report)
    for kind, jira_key, justification in (
        ("PIA", "MLC-21", None),
        (
            "TEST_RESULTS_REVIEW",
            "MLC-22",
            "Tenure drift follows the price change; accepted until retraining.",
        ),
    ):
        inventory.record_approval_requested(
            kind=kind, jira_key=jira_key, model_id=version.id, requested_by="airflow"
        )
        inventory.record_approval_decision(
            jira_key,
            approved=True,
            decided_by="reviewer@example.com",
            decided_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
            decision_status="Done",
            decided_by_account="acc-reviewer",
            justification=justification,
        )


def test_the_review_context_comes_from_the_real_package(make_model: Callable[..., GovernedModel]) -> None:
    model = make_model()
    version, uris = _register_with_card_and_metrics(model)
    described = model.aws.sagemaker.describe_model_package(ModelPackageName=version.package_arn)
    assert json.loads(described["ModelCard"]["ModelCardContent"]) == CARD, "the sandbox keeps the card"
    assert described["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == uris["quality"]

    snapshot = _snapshot(model, version)
    recorded = snapshot.manifest["model_package"]
    assert snapshot.manifest["manifest_version"] == 3
    assert "status" not in recorded["model_card"], "governance moves the card status: not the snapshot's"
    assert recorded["model_card"]["content"]["additional_information"] == {
        "custom_details": {"owner_team": "churn-ds"}
    }, "governance's link is not part of the data scientist's card"
    assert [m["report"] for m in recorded["model_metrics"]] == [
        "ModelQuality.Statistics",
        "Bias.PostTrainingReport",
    ]
    _tested_and_approved(model, version, snapshot)

    settings = load_config()
    run_url = "http://airflow.test:8080/dags/sagemaker_model_implementation/runs/manual__rc"
    ctx = build_review_context(
        model.inventory, version, snapshot, s3=model.aws.s3, settings=settings, airflow_run_url=run_url
    )
    info = ctx.model
    assert info.model_card["training_details"] == {"training_observations": "converged after 40 rounds"}
    assert "risk_rating" not in info.model_card["intended_uses"], "governance owns the rating"
    assert (
        info.model_card_status is None  # governance moves the status: the snapshot keeps only the content
        and info.description == "churn classifier v2, with its evaluation"
    )
    assert info.training_metrics == {
        "auc": 0.9134,
        "accuracy": 0.8625,
        "confusion_matrix.0.0": 1180,
        "confusion_matrix.0.1": 120,
        "confusion_matrix.1.0": 155,
        "confusion_matrix.1.1": 545,
    }
    quality, bias = info.metric_reports
    assert (quality.report, quality.metrics, quality.digest_verified) == ("ModelQuality.Statistics", 6, True)
    assert (bias.report, bias.read, bias.metrics, bias.problem) == ("Bias.PostTrainingReport", True, 0, None)
    head = model.aws.s3.head_object(Bucket=model.data_bucket, Key="churn/model.tar.gz")
    artifact = next(a for a in info.artifacts if a.role == "MODEL_DATA")
    assert artifact.uri.endswith("/churn/model.tar.gz") and artifact.digest == head["ETag"].strip('"')
    assert {a.role for a in ctx.snapshot.assets} == {"BASELINE_DATA", "COMPARATOR_DATA", "RISK_TEST_SCHEMA"}
    assert all(a.sha256 for a in ctx.snapshot.assets), "the pinned data with its SHA-256"
    policy = ctx.policy
    assert policy is not None and policy.risk_level == "High" and policy.failed_tests_action == "block"
    assert not policy.one_person_many_gates and "performance.auc" in policy.failed_tests
    assert [(a.kind, a.justification) for a in ctx.approvals] == [
        (ApprovalKind.PIA, None),
        (
            ApprovalKind.TEST_RESULTS_REVIEW,
            "Tenure drift follows the price change; accepted until retraining.",
        ),
    ]
    assert ctx.links.airflow_run == run_url

    documents = render_review_document(ctx, formats=("html", "markdown"))
    html = documents["html"].content.decode()
    for shown in (
        "converged after 40 rounds",
        "0.9134",
        "6 metrics read; digest verified",
        uris["quality"],
        head["ETag"].strip('"'),
        "Policy for risk level High",
        "accepted until retraining",
    ):
        assert shown in html, shown
    assert (
        "The package has no model card" not in html and "dashboard" not in html.split("Model card")[1][:2000]
    )
    again = build_review_context(
        model.inventory, version, snapshot, s3=model.aws.s3, settings=settings, airflow_run_url=run_url
    )
    assert render_review_document(again, formats=("html",))["html"].sha256 == documents["html"].sha256


def test_a_changed_report_is_refused_and_a_deleted_one_named(
    make_model: Callable[..., GovernedModel],
) -> None:
    model = make_model()
    version, uris = _register_with_card_and_metrics(model)
    snapshot = _snapshot(model, version)
    _tested_and_approved(model, version, snapshot)
    settings = load_config()

    model.aws.s3.delete_object(Bucket=model.data_bucket, Key="churn/v2/clarify/analysis.json")
    ctx = build_review_context(model.inventory, version, snapshot, s3=model.aws.s3, settings=settings)
    bias = ctx.model.metric_reports[1]
    assert bias.problem == "could not be read (NoSuchKey)" and ctx.model.training_metrics["auc"] == 0.9134
    html = render_review_document(ctx, formats=("html",))["html"].content.decode()
    assert "not used: could not be read (NoSuchKey)" in html

    altered: dict[str, Any] = json.loads(json.dumps(QUALITY))
    altered["binary_classification_metrics"]["auc"]["value"] = 0.99
    model.put("churn/v2/evaluation/statistics.json", json.dumps(altered).encode())
    with pytest.raises(MetricsReportChangedError) as caught:
        build_review_context(model.inventory, version, snapshot, s3=model.aws.s3, settings=settings)
    assert uris["quality"] in str(caught.value) and version.package_arn in str(caught.value)
