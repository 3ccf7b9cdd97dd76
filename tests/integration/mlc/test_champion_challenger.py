"""Champion vs challenger on the same comparator data, against the AWS and Jira sandboxes and a real
inventory: a Deployed champion gets a model change (``start_change`` through the action service), the
group's next version is registered with comparator data carrying the champion's scores (column named by its
``CHAMPION_SCORE_COLUMN`` metadata), is linked as the challenger, snapshotted and risk tested by the real
operators; its stored report holds the champion's results on those rows, and the rendered review document
shows both side by side with the shared dataset's URI, SHA-256 and row count and the actual figures. The
same with ``risk_tests.runner = processing``: the Processing job tests the challenger, then the worker reads
the pinned comparator again for the champion's side."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from airflow.sdk.exceptions import TaskDeferred

from model_governance.config import load_config
from model_governance.documents import render_review_document
from model_governance.documents.environment import format_number
from model_governance.hooks.sagemaker_jobs import SageMakerJobsHook
from model_governance.hooks.sagemaker_registry import SageMakerRegistryHook
from model_governance.inventory.models import EventSource
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.operators.risk_tests import RunRiskTestsOperator
from model_governance.operators.snapshot import CreateSnapshotOperator
from model_governance.services.actions import ActionRequest, GovernanceActionService
from model_governance.services.challengers import link_if_challenger
from model_governance.services.review_context import build_review_context
from model_governance.triggers.sagemaker import SUCCESS, SageMakerWaitTrigger
from tests.integration.mlc.conftest import AWS_CONN_ID, ENTITY, IMAGE, GovernedModel, parquet_bytes
from tests.integration.mlc.test_sagemaker_workloads import _fire, processing
from tests.unit.risk_tests.conftest import classification_table

__all__ = ["processing"]

pytestmark = pytest.mark.integration

COLUMN = "prod_model_score"


def _start_change(model: GovernedModel) -> None:
    """The champion goes live (the MLC's statuses), then an operator starts a model change."""
    inventory = model.inventory
    for status in (S.VALIDATION_COMPLETE, S.AWAITING_APPROVAL, S.APPROVED_FOR_DEPLOYMENT, S.DEPLOYED):
        inventory.transition(
            model.package_arn, status, source=EventSource.GOVERNANCE, actor="mlc", reason="step"
        )
    region = model.aws.sandbox.region
    entity = SimpleNamespace(
        name=ENTITY,
        registry=SageMakerRegistryHook(aws_conn_id=AWS_CONN_ID, region_name=region),
        jobs=SageMakerJobsHook(aws_conn_id=AWS_CONN_ID, region_name=region),
    )
    service = GovernanceActionService(
        inventory=inventory,
        connections=SimpleNamespace(of_model=lambda m: entity, of_group=lambda g: entity),  # type: ignore[arg-type]
        notify=lambda subject, body, to: None,
    )
    request = ActionRequest.parse(
        {
            "action": "start_change",
            "model": model.package_arn,
            "reason": "retrained on 2026 data",
            "requested_by": "ops@example.com",
        },
        dag_id="model_governance_action",
        run_id="manual__change",
    )
    service.perform(request)
    assert inventory.get_model(model.package_arn).status == S.MODEL_CHANGE_IN_PROGRESS.value


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney AUC over every positive/negative pair (ties count half): no engine code."""
    pos, neg = s[y], s[~y]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (pos.size * neg.size))


def _risk_tests(operator: RunRiskTestsOperator, context: dict[str, Any]) -> dict[str, Any]:
    """The step's result; with the Processing job runner, after waiting for the job as the triggerer would."""
    try:
        return operator.execute(context)  # type: ignore[arg-type]
    except TaskDeferred as deferred:
        assert isinstance(deferred.trigger, SageMakerWaitTrigger)
        event = _fire(deferred.trigger)
        assert event["status"] == SUCCESS, event
        return operator.execute_complete(context, event, **(deferred.kwargs or {}))  # type: ignore[arg-type]


@pytest.mark.parametrize("runner", ["worker", "processing"])
def test_champion_and_challenger_on_the_same_comparator_data(
    make_model: Callable[..., GovernedModel], runner: str, request: pytest.FixtureRequest
) -> None:
    if runner == "processing":
        request.getfixturevalue("processing")
    champion = make_model()
    inventory = champion.inventory
    _start_change(champion)

    # The data scientist's holdout: the challenger's comparator rows with the champion's scores beside.
    table = classification_table(2_000, seed=31)
    rng = np.random.default_rng(4)
    champion_scores = np.clip(table.column("score").to_numpy() * 0.6 + rng.normal(0.2, 0.15, 2_000), 0, 1)
    body = parquet_bytes(table.append_column(COLUMN, pa.array(champion_scores)))
    comparator_uri = champion.put("churn/v2/comparator.parquet", body)
    metadata = {**champion.metadata, "COMPARATOR_DATA": comparator_uri, "CHAMPION_SCORE_COLUMN": COLUMN}
    arn = champion.aws.sagemaker.create_model_package(
        ModelPackageGroupName=champion.group,
        ModelPackageDescription="churn classifier v2 (the challenger)",
        InferenceSpecification={
            "Containers": [
                {"Image": IMAGE, "ModelDataUrl": f"s3://{champion.data_bucket}/churn/model.tar.gz"}
            ],
            "SupportedContentTypes": ["application/x-parquet"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties=metadata,
        ModelApprovalStatus="PendingManualApproval",
    )["ModelPackageArn"]
    record, _ = inventory.upsert_model(
        package_arn=arn, status="Pre Implementation Review", actor="test", reason="onboarded"
    )
    challenger = inventory.get_model(record.id)
    assert link_if_challenger(inventory, challenger) is not None

    snapshot_id = int(
        CreateSnapshotOperator(task_id="create_snapshot", model_id=challenger.id).execute(  # type: ignore[arg-type]
            champion.context("create_snapshot")
        )["snapshot_id"]
    )
    context = champion.context("run_risk_tests")
    operator = RunRiskTestsOperator(
        task_id="run_risk_tests", model_id=str(challenger.id), snapshot_id=str(snapshot_id), poll_interval=5
    )
    result = _risk_tests(operator, context)
    stored = sorted(k for k in champion.governance_objects() if "/risk-tests/" in k)
    assert len(stored) == 1

    # The stored report: the champion's results from that column, on the same pinned data.
    key = result["report_uri"].split("/", 3)[3]
    report = json.loads(champion.aws.s3.get_object(Bucket=champion.governance_bucket, Key=key)["Body"].read())
    digest = hashlib.sha256(body).hexdigest()
    assert report["inputs"]["comparator"]["sha256"] == digest
    jobs = champion.aws.sandbox.request_count("sagemaker:CreateProcessingJob")
    if runner == "processing":  # the job tested the challenger; the worker compared the champion after it
        assert "processing_job" in report["inputs"] and jobs == 1
    else:
        assert "processing_job" not in report["inputs"] and jobs == 0
    comparison = report["champion"]
    assert comparison["model"] == {"package_arn": champion.package_arn, "version": 1}
    assert comparison["score_column"] == COLUMN
    assert comparison["dataset"]["sha256"] == digest and comparison["dataset"]["source"] == comparator_uri
    assert (
        comparison["rows"] == comparison["rows_compared"] == report["inputs"]["comparator"]["rows"] == 2_000
    )

    y = table.column("label").to_numpy() == 1
    expected = {
        "champion": _auc(y, champion_scores),
        "challenger": _auc(y, table.column("score").to_numpy()),
    }
    found = {
        "champion": next(r for r in comparison["results"] if r["test"] == "performance.auc")["value"],
        "challenger": next(
            r for r in report["results"] if r["test"] == "performance.auc" and r["dataset"] == "comparator"
        )["value"],
    }
    assert found == pytest.approx(expected, abs=1e-12)
    assert expected["challenger"] > expected["champion"], "the generated challenger is the better model"

    # A retried task stores nothing twice (and submits no second job).
    assert _risk_tests(operator, champion.context("run_risk_tests", context["ti"].run_id)) == result
    assert sorted(k for k in champion.governance_objects() if "/risk-tests/" in k) == stored
    assert champion.aws.sandbox.request_count("sagemaker:CreateProcessingJob") == jobs

    # The review document: both sides on the one dataset, with the figures.
    snapshot = inventory.get_snapshot(snapshot_id)
    ctx = build_review_context(inventory, challenger, snapshot, s3=champion.aws.s3, settings=load_config())
    assert ctx.champion is not None and ctx.champion.same_data is True
    md = render_review_document(ctx, formats=("markdown",))["markdown"].content.decode()
    part = md.split("### Champion vs challenger", 1)[1].split("## 6.", 1)[0]
    assert f"| Champion | {champion.package_arn} (Model Change in Progress) |" in part
    assert f"| Both computed on | {comparator_uri}, SHA-256 {digest}," in part
    assert "2000 rows (2000 with a label and a challenger score" in part
    assert f"from column {COLUMN.replace('_', chr(92) + '_')} of its comparator data" in part
    champion_auc, challenger_auc = (format_number(expected[side]) for side in ("champion", "challenger"))
    difference = "+" + format_number(expected["challenger"] - expected["champion"])
    assert f"| performance.auc | — | {champion_auc} | {challenger_auc} | {difference} | \\>= 0.6 |" in part
    assert "data\\_drift" not in part
