"""The AWS sandbox checks model cards against SageMaker's model card JSON schema, through boto3: it refuses
exactly what the schema refuses (on CreateModelPackage, UpdateModelPackage and the standalone model card
calls) with a ValidationException naming the violation, accepts valid content, never changes an Archived
card; and the implementation MLC's card writes pass it while the card status moves through the gates."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from model_governance.inventory import EventSource
from model_governance.lifecycle import GovernanceStatus
from model_governance.model_cards import GOVERNANCE_EVALUATION
from model_governance.operators.model_lifecycle import (
    AcceptReviewDocumentOperator,
    MarkApprovedForDeploymentOperator,
)
from model_governance.operators.snapshot import CreateSnapshotOperator
from model_governance.risk_tests.engine import run_risk_tests
from model_governance.sync import LifecycleSync
from sandbox.aws.model_card_schema import violations
from sandbox.aws.pytest_fixtures import AwsClients
from tests.integration.mlc.conftest import AWS_CONN_ID, ENTITY, GovernedModel, make_model  # noqa: F401
from tests.unit.risk_tests.conftest import classification_schema, classification_table

pytestmark = pytest.mark.integration

VALID: dict[str, Any] = {
    "model_overview": {"model_creator": "ds-team", "model_artifact": ["s3://m/model.tar.gz"]},
    "intended_uses": {"purpose_of_model": "churn", "risk_rating": "Medium"},
    "business_details": {"business_problem": "attrition", "line_of_business": "retail"},
    "training_details": {"training_observations": "fine", "objective_function": {"function": "Minimize"}},
    "evaluation_details": [
        {
            "name": "holdout",
            "datasets": ["s3://d/holdout.parquet"],
            "metadata": {"owner": "ds"},
            "metric_groups": [
                {
                    "name": "quality",
                    "metric_data": [
                        {"name": "auc", "type": "number", "value": 0.9},
                        {"name": "calibrated", "type": "boolean", "value": True},
                        {"name": "roc", "type": "linear_graph", "value": [[0, 0], [0.5, 0.8], [1, 1]]},
                        {
                            "name": "by region",
                            "type": "bar_chart",
                            "value": [0.8, 0.9],
                            "x_axis_name": ["n", "s"],
                        },
                        {"name": "confusion", "type": "matrix", "value": [[90, 10], [5, 95]]},
                    ],
                }
            ],
        }
    ],
    "additional_information": {"ethical_considerations": "none", "custom_details": {"ticket": "MLC-1"}},
}

# (case, content, JSON pointer the refusal names); each is refused by the schema and by the sandbox.
INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("extra top-level property", {**VALID, "governance": {"snapshot": "x"}}, "#: Additional properties"),
    ("unknown field in a section", {"intended_uses": {"risk": "High"}}, "#/intended_uses: Additional"),
    (
        "risk rating outside the enum",
        {"intended_uses": {"risk_rating": "high"}},
        "#/intended_uses/risk_rating",
    ),
    ("risk rating of the wrong type", {"intended_uses": {"risk_rating": 3}}, "#/intended_uses/risk_rating"),
    (
        "text of the wrong type",
        {"intended_uses": {"purpose_of_model": 5}},
        "#/intended_uses/purpose_of_model",
    ),
    ("text over its limit", {"business_details": {"business_problem": "x" * 2049}}, "#/business_details/"),
    ("section not an object", {"model_overview": ["a"]}, "#/model_overview: ['a'] is not of type 'object'"),
    ("evaluation not an array", {"evaluation_details": {"name": "x"}}, "#/evaluation_details: "),
    ("evaluation without a name", {"evaluation_details": [{"datasets": []}]}, "#/evaluation_details/0"),
    (
        "metric type outside the enum",
        {
            "evaluation_details": [
                {
                    "name": "e",
                    "metric_groups": [
                        {"name": "g", "metric_data": [{"name": "m", "type": "percentage", "value": 1}]}
                    ],
                }
            ]
        },
        "#/evaluation_details/0/metric_groups/0/metric_data/0",
    ),
    (
        "metric group without metric data",
        {"evaluation_details": [{"name": "e", "metric_groups": [{"name": "g"}]}]},
        "#/evaluation_details/0/metric_groups/0: 'metric_data' is a required property",
    ),
    (
        "custom detail not a string",
        {"additional_information": {"custom_details": {"n": 1}}},
        "custom_details/n",
    ),
    (
        "custom detail over 1024 characters",
        {"additional_information": {"custom_details": {"n": "x" * 1025}}},
        "#/additional_information/custom_details/n",
    ),
    # A package's card: model_overview holds model_creator and model_artifact only (ModelPackageModelCard).
    (
        "model name on a package card",
        {"model_overview": {"model_name": "churn"}},
        "#/model_overview: Additional",
    ),
]


def _create(aws_clients: AwsClients, group: str, content: dict[str, Any] | None = None) -> str:
    args: dict[str, Any] = {}
    if content is not None:
        args["ModelCard"] = {"ModelCardContent": json.dumps(content), "ModelCardStatus": "Draft"}
    return str(
        aws_clients.sagemaker.create_model_package(
            ModelPackageGroupName=group,
            InferenceSpecification={
                "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            **args,
        )["ModelPackageArn"]
    )


@pytest.fixture
def group(aws_clients: AwsClients) -> str:
    name = f"cards-{uuid.uuid4().hex[:8]}"
    aws_clients.sagemaker.create_model_package_group(ModelPackageGroupName=name)
    return name


def _refused(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    error = excinfo.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(error["Message"])


def test_valid_content_is_accepted_on_create_and_update(aws_clients: AwsClients, group: str) -> None:
    assert violations(VALID) == []
    arn = _create(aws_clients, group, VALID)
    sm = aws_clients.sagemaker
    assert (
        json.loads(sm.describe_model_package(ModelPackageName=arn)["ModelCard"]["ModelCardContent"]) == VALID
    )
    changed = {**VALID, "intended_uses": {"risk_rating": "High"}}
    sm.update_model_package(
        ModelPackageArn=arn,
        ModelCard={"ModelCardContent": json.dumps(changed), "ModelCardStatus": "PendingReview"},
    )
    card = sm.describe_model_package(ModelPackageName=arn)["ModelCard"]
    assert json.loads(card["ModelCardContent"]) == changed and card["ModelCardStatus"] == "PendingReview"
    sm.update_model_package(ModelPackageArn=arn, ModelCard={"ModelCardContent": "{}"})  # empty is valid


@pytest.mark.parametrize(("case", "content", "where"), INVALID, ids=[c[0] for c in INVALID])
def test_schema_invalid_content_is_refused_where_the_schema_refuses_it(
    aws_clients: AwsClients, group: str, case: str, content: dict[str, Any], where: str
) -> None:
    found = violations(content)
    assert found, f"{case}: the schema itself must refuse this content"
    assert any(where in v for v in found), found
    sm = aws_clients.sagemaker
    with pytest.raises(ClientError) as created:
        _create(aws_clients, group, content)
    message = _refused(created)
    assert (
        "ModelCard.ModelCardContent does not conform to the model package model card JSON schema" in message
    )
    assert where in message
    arn = _create(aws_clients, group, {"model_overview": {"model_creator": "ds"}})
    with pytest.raises(ClientError) as updated:
        sm.update_model_package(
            ModelPackageArn=arn,
            ModelCard={"ModelCardContent": json.dumps(content), "ModelCardStatus": "Draft"},
        )
    assert where in _refused(updated)
    card = sm.describe_model_package(ModelPackageName=arn)["ModelCard"]
    assert json.loads(card["ModelCardContent"]) == {"model_overview": {"model_creator": "ds"}}, (
        "nothing stored"
    )


def test_the_refusal_names_several_violations(aws_clients: AwsClients, group: str) -> None:
    content = {"governance": 1, "intended_uses": {"risk_rating": "x", "purpose_of_model": 2}}
    with pytest.raises(ClientError) as excinfo:
        _create(aws_clients, group, content)
    message = _refused(excinfo)
    for where in (
        "#: Additional properties",
        "#/intended_uses/purpose_of_model",
        "#/intended_uses/risk_rating",
    ):
        assert where in message


def test_archived_card_refuses_any_change(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arn = _create(aws_clients, group, VALID)
    sm.update_model_package(ModelPackageArn=arn, ModelCard={"ModelCardStatus": "Archived"})
    for change in (
        {"ModelCardStatus": "Approved"},
        {"ModelCardContent": json.dumps(VALID), "ModelCardStatus": "Archived"},
        {"ModelCardContent": "{}"},
    ):
        with pytest.raises(ClientError) as excinfo:
            sm.update_model_package(ModelPackageArn=arn, ModelCard=change)
        assert "Archived" in _refused(excinfo)
    assert sm.describe_model_package(ModelPackageName=arn)["ModelCard"]["ModelCardStatus"] == "Archived"


def test_standalone_model_cards_use_the_full_schema(aws_clients: AwsClients) -> None:
    sm = aws_clients.sagemaker
    full = {"model_overview": {"model_name": "churn", "model_version": 2, "model_description": "scorer"}}
    assert violations(full, package=False) == [] and violations(full, package=True) != []
    name = f"card-{uuid.uuid4().hex[:8]}"
    sm.create_model_card(ModelCardName=name, Content=json.dumps(full), ModelCardStatus="Draft")
    with pytest.raises(ClientError) as excinfo:
        sm.update_model_card(ModelCardName=name, Content=json.dumps({"model_overview": {"model_version": 0}}))
    message = _refused(excinfo)
    assert "Content does not conform to the model card JSON schema" in message
    assert "#/model_overview/model_version: 0 is less than the minimum of 1" in message
    with pytest.raises(ClientError) as created:
        sm.create_model_card(ModelCardName=f"{name}-x", Content='{"risk": 1}', ModelCardStatus="Draft")
    assert "#: Additional properties" in _refused(created)


# ---- the implementation MLC's card writes ------------------------------------------------------------------

DATA_SCIENTIST = {
    "model_overview": {"model_creator": "churn squad"},
    "intended_uses": {"intended_uses": "batch scoring for the retention team", "risk_rating": "Low"},
    "training_details": {"training_observations": "converged after 3 epochs"},
    "additional_information": {"caveats_and_recommendations": "not for credit decisions"},
}


def _card(model: GovernedModel) -> tuple[dict[str, Any], str]:
    card = model.aws.sagemaker.describe_model_package(ModelPackageName=model.package_arn)["ModelCard"]
    return json.loads(card["ModelCardContent"]), card["ModelCardStatus"]


def test_mlc_fills_the_card_and_moves_its_status_through_the_gates(
    make_model: Callable[..., GovernedModel],  # noqa: F811
) -> None:
    model = make_model()
    sm, inventory = model.aws.sagemaker, model.inventory
    sm.update_model_package(
        ModelPackageArn=model.package_arn,
        ModelCard={"ModelCardContent": json.dumps(DATA_SCIENTIST), "ModelCardStatus": "Draft"},
    )
    run_id = f"manual__{uuid.uuid4().hex[:8]}"
    snapshot = CreateSnapshotOperator(task_id="create_snapshot", model_id=model.model_id).execute(
        model.context("create_snapshot", run_id)  # type: ignore[arg-type]
    )
    report = run_risk_tests(
        classification_table(800, seed=21), classification_table(800, seed=22), classification_schema()
    ).to_dict()
    key = f"sagemaker_model_implementation/{run_id}/run_risk_tests"
    inventory.start_risk_test_run(model.model_id, run_key=key, snapshot_id=snapshot["snapshot_id"])
    inventory.finish_risk_test_run(
        key, passed=report["passed"], report=report, report_uri=f"s3://{model.governance_bucket}/report.json"
    )
    pdf = hashlib.sha256(b"review document").hexdigest()
    inventory.record_document(
        model.model_id,
        kind="test_results_review",
        media_type="application/pdf",
        sha256=pdf,
        uri=f"s3://{model.governance_bucket}/review.pdf",
        snapshot_id=snapshot["snapshot_id"],
    )
    decision = {"issue_key": "MLC-7", "decided_by": {"display_name": "Reviewer"}}
    model.approve_gates(run_id, "PIA", "TEST_RESULTS_REVIEW")
    AcceptReviewDocumentOperator(
        task_id="accept_review_document",
        model_id=model.model_id,
        snapshot_id=snapshot["snapshot_id"],
        decision=decision,
    ).execute(model.context("accept_review_document", run_id))  # type: ignore[arg-type]

    content, status = _card(model)
    assert status == "PendingReview"
    assert violations(content) == []
    assert content["training_details"] == DATA_SCIENTIST["training_details"]
    assert content["model_overview"]["model_creator"] == "churn squad"
    assert content["model_overview"]["model_artifact"] == [f"s3://{model.data_bucket}/churn/model.tar.gz"]
    assert content["intended_uses"]["risk_rating"] == "High"  # the use case's, not the registered Low
    assert content["intended_uses"]["intended_uses"] == DATA_SCIENTIST["intended_uses"]["intended_uses"]
    assert content["business_details"]["business_stakeholders"] == "owner@example.com"
    assert content["business_details"]["line_of_business"] == ENTITY
    assert content["additional_information"]["caveats_and_recommendations"] == "not for credit decisions"
    (evaluation,) = content["evaluation_details"]
    assert evaluation["name"] == GOVERNANCE_EVALUATION and len(evaluation["metric_groups"]) > 1
    details = content["additional_information"]["custom_details"]
    assert details["snapshot"] == snapshot["content_hash"]
    assert details["review_approved_in"] == "MLC-7"
    assert details["review_document:application/pdf"] == pdf
    assert details["model_id"] == str(model.model_id)

    inventory.transition(
        model.model_id,
        GovernanceStatus.AWAITING_APPROVAL,
        source=EventSource.GOVERNANCE,
        actor="t",
        reason="t",
    )
    model.approve_gates(run_id, "PRODUCTION")
    MarkApprovedForDeploymentOperator(
        task_id="mark_approved",
        model_id=model.model_id,
        snapshot_id=snapshot["snapshot_id"],
        decision=decision,
    ).execute(model.context("mark_approved", run_id))  # type: ignore[arg-type]
    approved, status = _card(model)
    assert status == "Approved"
    assert violations(approved) == []
    assert approved["evaluation_details"] == content["evaluation_details"]

    # Decommissioned: the sync archives the card; from then on nothing is written into it.
    sm.update_model_package(
        ModelPackageArn=model.package_arn, ModelLifeCycle={"Stage": "Archived", "StageStatus": "Complete"}
    )
    hook_kwargs = {"aws_conn_id": AWS_CONN_ID, "region_name": model.aws.sandbox.region}
    from model_governance.hooks.sagemaker_registry import SageMakerRegistryHook

    sync = LifecycleSync(
        inventory=inventory, registry=SageMakerRegistryHook(**hook_kwargs), business_entity=ENTITY
    )
    sync.reconcile(full=True)
    archived, status = _card(model)
    assert status == "Archived"
    assert inventory.get_model(model.model_id).status == GovernanceStatus.DECOMMISSIONED.value
    assert violations(archived) == []
    sync.reconcile(full=True)  # again: the links the sync writes leave the archived card alone
    assert _card(model) == (archived, "Archived")
