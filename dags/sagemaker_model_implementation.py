"""SageMaker model implementation: the governed life cycle of one model package version.

The steps of ModelOp's SageMaker implementation MLC (shared/reference/seeds), each moving the model's
governance status along the mapping table, written to the inventory and to the package's ModelLifeCycle:

1. onboard the version (started by the lifecycle sync, or by hand with the package ARN);
2. Pre Implementation Review and the PIA approval ticket;
3. the immutable snapshot (S3, content-hashed; endpoint configuration and data assets checked);
4. the standard risk tests (a job that fails to run opens a ticket; Done re-runs it);
5. the review document, attached to the test results review ticket; Done: it joins the snapshot,
   Validation Complete; Rejected: the model is Rejected;
6. Awaiting Approval and the production approval ticket;
7. Approved for Deployment; with ``deployment.deploy_endpoint`` on, the snapshot's endpoint configuration
   is deployed to the SageMaker endpoint (created, or updated; waited for in the triggerer); then Deployed
   once SageMaker reports Deployment/Complete.
Approvals wait in the triggerer; every step is safe to retry or re-run.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from model_governance.notifications.email import notify_task_failure
from model_governance.operators.branching import ApprovalOutcomeBranchOperator
from model_governance.operators.deployment import DeployEndpointOperator
from model_governance.operators.jira import JiraApprovalOperator
from model_governance.operators.model_lifecycle import (
    AcceptReviewDocumentOperator,
    MarkApprovedForDeploymentOperator,
    OnboardModelOperator,
    RejectModelOperator,
    SetModelStatusOperator,
    WaitForDeploymentSensor,
)
from model_governance.operators.review_document import RenderReviewDocumentOperator
from model_governance.operators.risk_tests import RunRiskTestsOperator
from model_governance.operators.snapshot import CreateSnapshotOperator

MODEL_ID = "{{ ti.xcom_pull(task_ids='onboard_model')['model_id'] }}"
SNAPSHOT_ID = "{{ ti.xcom_pull(task_ids='create_snapshot')['snapshot_id'] }}"


def decision_of(task_id: str) -> str:
    return "{{ ti.xcom_pull(task_ids='" + task_id + "') }}"


with DAG(
    dag_id="sagemaker_model_implementation",
    description="Governed life cycle of one SageMaker model package version",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=64,
    render_template_as_native_obj=True,
    default_args={"on_failure_callback": notify_task_failure},
    tags=["model-governance"],
    doc_md=__doc__,
    params={
        "package_arn": Param(
            type="string",
            pattern=r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[a-zA-Z0-9-]+/\d+$",
            title="Model package ARN (versioned)",
        ),
    },
):
    onboard = OnboardModelOperator(task_id="onboard_model", package_arn="{{ params.package_arn }}")
    start_review = SetModelStatusOperator(
        task_id="start_review",
        model_id=MODEL_ID,
        status="Pre Implementation Review",
        reason="implementation life cycle started: PIA approval requested",
    )
    pia = JiraApprovalOperator(
        task_id="pia_approval", approval_kind="PIA", model_id=MODEL_ID, raise_on_reject=False
    )
    after_pia = ApprovalOutcomeBranchOperator(
        task_id="follow_pia",
        approval_task_id="pia_approval",
        approved=["create_snapshot"],
        rejected=["reject_after_pia"],
    )
    reject_after_pia = RejectModelOperator(
        task_id="reject_after_pia", model_id=MODEL_ID, decision=decision_of("pia_approval")
    )
    snapshot = CreateSnapshotOperator(task_id="create_snapshot", model_id=MODEL_ID)
    risk_tests = RunRiskTestsOperator(task_id="run_risk_tests", model_id=MODEL_ID, snapshot_id=SNAPSHOT_ID)
    document = RenderReviewDocumentOperator(
        task_id="render_review_document", model_id=MODEL_ID, snapshot_id=SNAPSHOT_ID
    )
    review = JiraApprovalOperator(
        task_id="test_results_review",
        approval_kind="TEST_RESULTS_REVIEW",
        model_id=MODEL_ID,
        attachment_uris="{{ ti.xcom_pull(task_ids='render_review_document')['attachment_uris'] }}",
        raise_on_reject=False,
    )
    after_review = ApprovalOutcomeBranchOperator(
        task_id="follow_review",
        approval_task_id="test_results_review",
        approved=["accept_review_document"],
        rejected=["reject_after_review"],
    )
    reject_after_review = RejectModelOperator(
        task_id="reject_after_review", model_id=MODEL_ID, decision=decision_of("test_results_review")
    )
    accept = AcceptReviewDocumentOperator(
        task_id="accept_review_document",
        model_id=MODEL_ID,
        snapshot_id=SNAPSHOT_ID,
        decision=decision_of("test_results_review"),
    )
    awaiting = SetModelStatusOperator(
        task_id="request_production_approval",
        model_id=MODEL_ID,
        status="Awaiting Approval",
        reason="production approval requested",
    )
    production = JiraApprovalOperator(
        task_id="production_approval", approval_kind="PRODUCTION", model_id=MODEL_ID, raise_on_reject=False
    )
    after_production = ApprovalOutcomeBranchOperator(
        task_id="follow_production",
        approval_task_id="production_approval",
        approved=["mark_approved_for_deployment"],
        rejected=["reject_after_production"],
    )
    reject_after_production = RejectModelOperator(
        task_id="reject_after_production", model_id=MODEL_ID, decision=decision_of("production_approval")
    )
    approved = MarkApprovedForDeploymentOperator(
        task_id="mark_approved_for_deployment",
        model_id=MODEL_ID,
        snapshot_id=SNAPSHOT_ID,
        decision=decision_of("production_approval"),
    )
    deploy = DeployEndpointOperator(task_id="deploy_endpoint", model_id=MODEL_ID, snapshot_id=SNAPSHOT_ID)
    deployed = WaitForDeploymentSensor(task_id="wait_for_deployment", model_id=MODEL_ID)

    onboard >> start_review >> pia >> after_pia >> [snapshot, reject_after_pia]
    snapshot >> risk_tests >> document >> review >> after_review >> [accept, reject_after_review]
    accept >> awaiting >> production >> after_production >> [approved, reject_after_production]
    approved >> deploy >> deployed
