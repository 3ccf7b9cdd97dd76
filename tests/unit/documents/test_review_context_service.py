"""The review context service with fakes (inventory, S3): the model card, artifacts and metrics from the
real package's snapshot, the policy of the risk level, justifications; unreadable reports are named,
reports whose bytes do not match their digest are refused."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from model_governance.config import ApprovalKind, GovernanceConfig
from model_governance.documents import render_review_document
from model_governance.exceptions import InvalidInputError, RegistryError
from model_governance.services.review_context import (
    MetricsReportChangedError,
    build_review_context,
    model_quality_metrics,
    read_model_metrics,
)
from tests.unit.documents import builders

ARN = builders.PACKAGE_ARN
QUALITY = {
    "version": 0.0,
    "dataset": {"item_count": 2000},
    "binary_classification_metrics": {
        "auc": {"value": 0.91, "standard_deviation": 0.004},
        "f1": {"value": 0.72, "standard_deviation": 0.01},
        "confusion_matrix": {"0": {"0": 1180, "1": 120}, "1": {"0": 210, "1": 490}},
        "receiver_operating_characteristic_curve": {
            "false_positive_rates": [0.0, 0.5, 1.0],
            "true_positive_rates": [0.0, 0.8, 1.0],
        },
        "true_negative_rate": {"value": float("nan")},
        "flag": {"value": True},
    },
}


class FakeS3:
    """``get_object`` over a dict of objects; a key mapped to an exception raises it."""

    def __init__(self, objects: dict[tuple[str, str], bytes | Exception]) -> None:
        self.objects = objects
        self.reads: list[tuple[str, str]] = []

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        key = (kwargs["Bucket"], kwargs["Key"])
        self.reads.append(key)
        found = self.objects.get(key, ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject"))
        if isinstance(found, Exception):
            raise found
        return {"Body": io.BytesIO(found), "ContentLength": len(found)}


def _bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


def _digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _pointer(
    report: str, uri: str, digest: str | None = None, content_type: str = "application/json"
) -> dict:
    return {"report": report, "uri": uri, "content_type": content_type, "content_digest": digest}


def test_model_quality_json_is_flattened_to_numbers() -> None:
    assert model_quality_metrics(QUALITY) == {
        "auc": 0.91,
        "f1": 0.72,
        "confusion_matrix.0.0": 1180,
        "confusion_matrix.0.1": 120,
        "confusion_matrix.1.0": 210,
        "confusion_matrix.1.1": 490,
    }
    both = {
        "regression_metrics": {"mae": {"value": 1.5}, "r2": {"value": 0.8}},
        "multiclass_classification_metrics": {"accuracy": {"value": 0.7}},
    }
    assert model_quality_metrics(both) == {
        "multiclass_classification.accuracy": 0.7,
        "regression.mae": 1.5,
        "regression.r2": 0.8,
    }
    assert model_quality_metrics([1, 2]) == {} and model_quality_metrics({"version": 1}) == {}


def test_reports_are_read_checked_and_named() -> None:
    quality = _bytes(QUALITY)
    s3 = FakeS3(
        {
            ("reports", "quality.json"): quality,
            ("reports", "bias.json"): _bytes({"post_training_bias_metrics": {"facets": {}}}),
            ("reports", "broken.json"): b"{not json",
            ("reports", "denied.json"): ClientError({"Error": {"Code": "AccessDenied"}}, "GetObject"),
            ("reports", "constraints.csv"): b"a,b\n",
        }
    )
    read = read_model_metrics(
        s3,
        [
            _pointer("ModelQuality.Statistics", "s3://reports/quality.json", _digest(quality)),
            _pointer("ModelQuality.Constraints", "s3://reports/constraints.csv", content_type="text/csv"),
            _pointer("ModelDataQuality.Statistics", "s3://reports/broken.json"),
            _pointer("ModelDataQuality.Constraints", "s3://reports/gone.json"),
            _pointer("Bias.Report", "https://reports.s3.us-east-1.amazonaws.com/bias.json"),
            _pointer("Explainability.Report", "s3://reports/denied.json"),
            _pointer("Bias.PreTrainingReport", "ftp://elsewhere/x.json"),
        ],
        package_arn=ARN,
    )
    assert read.metrics["auc"] == 0.91 and len(read.metrics) == 6
    by_name = {r.report: r for r in read.reports}
    quality_report = by_name["ModelQuality.Statistics"]
    assert (quality_report.metrics, quality_report.digest_verified, quality_report.problem) == (6, True, None)
    assert by_name["ModelQuality.Constraints"].read and by_name["ModelQuality.Constraints"].problem is None
    assert "not valid JSON" in str(by_name["ModelDataQuality.Statistics"].problem)
    assert by_name["ModelDataQuality.Constraints"].problem == "could not be read (NoSuchKey)"
    assert by_name["Bias.Report"].read and by_name["Bias.Report"].problem is None  # https S3 URL read
    assert by_name["Explainability.Report"].problem == "could not be read (AccessDenied)"
    assert "does not name an S3 object" in str(by_name["Bias.PreTrainingReport"].problem)
    assert ("reports", "bias.json") in s3.reads


def test_a_quality_report_without_metrics_is_named() -> None:
    s3 = FakeS3({("reps", "q.json"): _bytes({"version": 0.0}), ("reps", "q.csv"): b"auc,0.9"})
    read = read_model_metrics(
        s3,
        [
            _pointer("ModelQuality.Statistics", "s3://reps/q.json"),
            _pointer("ModelQuality.Statistics", "s3://reps/q.csv", content_type="text/csv"),
        ],
        package_arn=ARN,
    )
    assert read.metrics == {}
    assert "holds none of binary_classification_metrics" in str(read.reports[0].problem)
    assert "content type text/csv is not JSON" in str(read.reports[1].problem)


def test_the_same_metric_in_two_reports_keeps_both() -> None:
    body = _bytes({"regression_metrics": {"mae": {"value": 1.0}}})
    other = _bytes({"regression_metrics": {"mae": {"value": 2.0}}})
    s3 = FakeS3({("reps", "a.json"): body, ("reps", "b.json"): other})
    read = read_model_metrics(
        s3,
        [
            _pointer("ModelQuality.Statistics", "s3://reps/a.json"),
            _pointer("Bias.Report", "s3://reps/b.json"),
        ],
        package_arn=ARN,
    )
    assert read.metrics == {"ModelQuality.Statistics mae": 1.0, "Bias.Report mae": 2.0}


def test_a_report_that_does_not_match_its_digest_is_refused() -> None:
    s3 = FakeS3({("reports", "quality.json"): _bytes(QUALITY)})
    registered = _digest(b"what was registered")
    with pytest.raises(MetricsReportChangedError) as caught:
        read_model_metrics(
            s3,
            [_pointer("ModelQuality.Statistics", "s3://reports/quality.json", registered)],
            package_arn=ARN,
        )
    message = str(caught.value)
    assert "s3://reports/quality.json" in message and ARN in message and registered.lower() in message


def test_a_transient_s3_failure_raises_so_the_task_retries() -> None:
    for error in (
        ClientError({"Error": {"Code": "SlowDown"}}, "GetObject"),
        EndpointConnectionError(endpoint_url="https://s3.example"),
    ):
        s3 = FakeS3({("reps", "q.json"): error})
        with pytest.raises(RegistryError, match=r"s3://reps/q.json .*retries"):
            read_model_metrics(s3, [_pointer("ModelQuality.Statistics", "s3://reps/q.json")], package_arn=ARN)


# -- the whole context ----------------------------------------------------------------------------------

SNAPSHOT_HASH = "ab" * 32
FINISHED = datetime(2026, 3, 1, 14, 5, 9, tzinfo=UTC)


class FakeInventory:
    def __init__(self, *, approvals: list[Any], run: Any) -> None:
        self._approvals, self.run = approvals, run
        self.use_case = SimpleNamespace(
            id=4,
            name="Customer churn prediction",
            description="Predict churn.",
            risk_level="Medium",
            owner="ana@example.com",
            business_entity=SimpleNamespace(name="telco-eu"),
            status="APPROVED",
            data_science_email=None,
            requested_by="ana@example.com",
        )

    def latest_risk_test_run(self, model: Any) -> Any:
        return self.run

    def champion_of(self, model: Any) -> Any:
        return None  # not a challenger: test_champion_challenger.py covers one

    def use_case_of_group(self, group_id: int) -> int:
        return 4

    def get_use_case(self, use_case_id: int) -> Any:
        return self.use_case

    def approvals(self, *, model_id: int | None = None, use_case_id: int | None = None) -> list[Any]:
        return [
            a
            for a in self._approvals
            if (model_id is None or a.model_id == model_id)
            and (use_case_id is None or a.use_case_id == use_case_id)
        ]


def _approval(id: int, kind: str, key: str, *, model_id: int | None, **changes: Any) -> Any:
    base = dict(
        id=id,
        kind=kind,
        jira_key=key,
        state="APPROVED",
        model_id=model_id,
        use_case_id=4,
        created_at=datetime(2026, 2, id, 9, 0, tzinfo=UTC),
        requested_by="airflow",
        decided_by="reviewer@example.com",
        decided_at=datetime(2026, 2, id, 17, 0, tzinfo=UTC),
        justification=None,
    )
    return SimpleNamespace(**{**base, **changes})


def _world(quality: bytes, *, digest: str | None, manifest_version: int = 3) -> tuple[Any, ...]:
    card = {
        "status": "PendingReview",
        "content": {
            "model_overview": {"model_creator": "ds-team"},
            "intended_uses": {"intended_uses": "batch"},
        },
    }
    package: dict[str, Any] = {
        "arn": ARN,
        "group": "churn-model",
        "version": 3,
        "description": "Gradient boosting on 2025 data.",
        "creation_time": "2026-02-20T08:00:00+00:00",
        "inference_containers": [
            {
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1",
                "image_digest": "sha256:" + "9f" * 32,
                "model_data_url": "s3://ml-artifacts/churn/3/model.tar.gz",
                "model_data": {
                    "uri": "s3://ml-artifacts/churn/3/model.tar.gz",
                    "etag": "0123abcd",
                    "size": 10,
                    "version_id": "v-model-1",
                },
            }
        ],
        "model_card": card,
        "model_metrics": [_pointer("ModelQuality.Statistics", "s3://ml-artifacts/churn/3/eval.json", digest)],
    }
    if manifest_version < 3:
        del package["model_card"], package["model_metrics"]
    manifest = {
        "manifest_version": manifest_version,
        "model_package": package,
        "assets": {
            "BASELINE_DATA": {
                "uri": "s3://ml-data/churn/base.parquet",
                "etag": "e1",
                "size": 1,
                "version_id": "v1",
                "sha256": "a1" * 32,
            }
        },
        "endpoint_config_name": "churn-model-v3",
        "risk_test_suite_version": "1.0.0",
    }
    snapshot = SimpleNamespace(
        id=9,
        content_hash=SNAPSHOT_HASH,
        uri=f"s3://governance/snapshots/churn-model/3/{SNAPSHOT_HASH}.json",
        manifest=manifest,
        created_at=datetime(2026, 3, 1, 13, 0, tzinfo=UTC),
    )
    model = SimpleNamespace(
        id=5,
        model_group_id=2,
        model_group=SimpleNamespace(name="churn-model", arn=builders.GROUP_ARN),
        version=3,
        package_arn=ARN,
        status="Pre Implementation Review",
        approval_status="PendingManualApproval",
    )
    run = SimpleNamespace(
        snapshot_id=9,
        report=builders.report().to_dict(),
        run_key="mlc/run/risk",
        finished_at=FINISHED,
        started_at=FINISHED,
    )
    approvals = [
        _approval(1, "USE_CASE", "MLC-1", model_id=None),
        _approval(2, "PIA", "MLC-2", model_id=5),
        _approval(
            3,
            "TEST_RESULTS_REVIEW",
            "MLC-3",
            model_id=5,
            justification="Drift follows the price change; accepted until the Q2 retrain.",
        ),
        _approval(4, "PIA", "MLC-9", model_id=77),  # another version's
    ]
    s3 = FakeS3({("ml-artifacts", "churn/3/eval.json"): quality})
    return FakeInventory(approvals=approvals, run=run), model, snapshot, s3


SETTINGS = GovernanceConfig.model_validate(
    {
        "jira": {"approver_groups": {"TEST_RESULTS_REVIEW": ["model-validators"]}},
        "approvals": {
            "policies": {
                "Medium": {"failed_tests": "justify", "approver_groups": {"PRODUCTION": ["risk-board"]}}
            }
        },
        "dashboard_base_url": "https://airflow.example.com/model-governance",
    }
)


def test_the_context_holds_what_the_real_package_says() -> None:
    quality = _bytes(QUALITY)
    inventory, model, snapshot, s3 = _world(quality, digest=_digest(quality))
    run_url = "https://airflow.example.com/dags/mlc/runs/manual__1"
    ctx = build_review_context(inventory, model, snapshot, s3=s3, settings=SETTINGS, airflow_run_url=run_url)
    info = ctx.model
    assert info.model_card == {
        "model_overview": {"model_creator": "ds-team"},
        "intended_uses": {"intended_uses": "batch"},
    }
    assert info.model_card_status == "PendingReview" and info.note == ""
    assert info.description == "Gradient boosting on 2025 data." and info.created_at == datetime(
        2026, 2, 20, 8, tzinfo=UTC
    )
    model_data, image = info.artifacts
    assert (model_data.role, model_data.digest, model_data.version_id) == (
        "MODEL_DATA",
        "0123abcd",
        "v-model-1",
    )
    assert (image.role, image.digest) == ("INFERENCE_IMAGE", "sha256:" + "9f" * 32)
    assert info.training_metrics["auc"] == 0.91 and info.metric_reports[0].digest_verified
    assert [a.role for a in ctx.snapshot.assets] == ["BASELINE_DATA"] and ctx.snapshot.assets[
        0
    ].sha256 == "a1" * 32
    # The use case's approval and this version's, not another version's; with the justification.
    assert [a.jira_key for a in ctx.approvals] == ["MLC-1", "MLC-2", "MLC-3"]
    assert ctx.approvals[2].justification.startswith("Drift follows")
    policy = ctx.policy
    assert policy is not None and (policy.risk_level, policy.failed_tests_action) == ("Medium", "justify")
    assert policy.approver_groups[ApprovalKind.PRODUCTION] == ("risk-board",)
    assert policy.approver_groups[ApprovalKind.TEST_RESULTS_REVIEW] == ("model-validators",)
    assert "performance.auc" in policy.failed_tests and "stability.csi/tenure_months" in policy.failed_tests
    assert ctx.decision.approvers == ("model-validators",)
    assert ctx.links.airflow_run == run_url
    assert ctx.links.dashboard == "https://airflow.example.com/model-governance/models/5"
    assert ctx.generated_at == FINISHED
    html = render_review_document(ctx, formats=("html",))["html"].content.decode()
    for shown in ("ds-team", "v-model-1", "0.91", "Policy for risk level Medium", "risk-board", "Q2 retrain"):
        assert shown in html
    assert "The package has no model card" not in html


def test_the_same_inputs_give_the_same_document() -> None:
    quality = _bytes(QUALITY)
    contexts = []
    for _ in range(2):
        inventory, model, snapshot, s3 = _world(quality, digest=None)
        contexts.append(build_review_context(inventory, model, snapshot, s3=s3, settings=SETTINGS))
    first, second = contexts
    docs = [render_review_document(c, formats=("html", "markdown")) for c in (first, second)]
    assert (
        docs[0]["html"].sha256 == docs[1]["html"].sha256
        and docs[0]["markdown"].sha256 == docs[1]["markdown"].sha256
    )
    assert first.links.airflow_run is None


def test_a_changed_report_is_refused_and_an_older_snapshot_is_noted() -> None:
    quality = _bytes(QUALITY)
    inventory, model, snapshot, s3 = _world(quality, digest=_digest(b"registered bytes"))
    with pytest.raises(MetricsReportChangedError, match=r"s3://ml-artifacts/churn/3/eval\.json"):
        build_review_context(inventory, model, snapshot, s3=s3, settings=SETTINGS)
    inventory, model, snapshot, s3 = _world(quality, digest=None, manifest_version=2)
    ctx = build_review_context(inventory, model, snapshot, s3=s3, settings=SETTINGS)
    assert "manifest version 2" in ctx.model.note and ctx.model.training_metrics == {} and s3.reads == []


def test_without_a_risk_test_report_for_the_snapshot_nothing_is_built() -> None:
    inventory, model, snapshot, s3 = _world(b"{}", digest=None)
    inventory.run = SimpleNamespace(**{**vars(inventory.run), "snapshot_id": 8})
    with pytest.raises(InvalidInputError, match="no risk test report for snapshot 9"):
        build_review_context(inventory, model, snapshot, s3=s3, settings=SETTINGS)
