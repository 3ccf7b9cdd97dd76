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
Approvals wait in the triggerer; every step is safe to retry or re-run, so every task retries (twice,
20 s apart): a worker, scheduler or triggerer lost mid-step costs a retry, not the run.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from model_governance.notifications.email import notify_task_failure
from model_governance.operators.deployment import DeployEndpointOperator
from model_governance.operators.gates import decision_of, model_approval_gate
from model_governance.operators.model_lifecycle import (
    AcceptReviewDocumentOperator,
    MarkApprovedForDeploymentOperator,
    OnboardModelOperator,
    SetModelStatusOperator,
    WaitForDeploymentSensor,
)
from model_governance.operators.review_document import RenderReviewDocumentOperator
from model_governance.operators.risk_tests import RunRiskTestsOperator
from model_governance.operators.snapshot import CreateSnapshotOperator

MODEL_ID = "{{ ti.xcom_pull(task_ids='onboard_model')['model_id'] }}"
SNAPSHOT_ID = "{{ ti.xcom_pull(task_ids='create_snapshot')['snapshot_id'] }}"

with DAG(
    dag_id="sagemaker_model_implementation",
    description="Governed life cycle of one SageMaker model package version",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=64,
    render_template_as_native_obj=True,
    # Every step is idempotent (keyed by dag_id, run_id and task_id, or by content hash): retries are safe.
    default_args={
        "on_failure_callback": notify_task_failure,
        "retries": 2,
        "retry_delay": timedelta(seconds=20),
    },
    tags=["model-governance"],
    doc_md=__doc__,
    params={
        "package_arn": Param(
            type="string",
            pattern=r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[a-zA-Z0-9-]+/\d+$",
            title="Model package ARN (versioned)",
        ),
    },
) as dag:
    onboard = OnboardModelOperator(task_id="onboard_model", package_arn="{{ params.package_arn }}")
    start_review = SetModelStatusOperator(
        task_id="start_review",
        model_id=MODEL_ID,
        status="Pre Implementation Review",
        reason="implementation life cycle started: PIA approval requested",
    )
    pia = model_approval_gate(
        approval_task_id="pia_approval",
        name="pia",
        approval_kind="PIA",
        model_id=MODEL_ID,
        then="create_snapshot",
    )
    snapshot = CreateSnapshotOperator(task_id="create_snapshot", model_id=MODEL_ID)
    risk_tests = RunRiskTestsOperator(task_id="run_risk_tests", model_id=MODEL_ID, snapshot_id=SNAPSHOT_ID)
    document = RenderReviewDocumentOperator(
        task_id="render_review_document", model_id=MODEL_ID, snapshot_id=SNAPSHOT_ID
    )
    review = model_approval_gate(
        approval_task_id="test_results_review",
        name="review",
        approval_kind="TEST_RESULTS_REVIEW",
        model_id=MODEL_ID,
        then="accept_review_document",
        attachment_uris="{{ ti.xcom_pull(task_ids='render_review_document')['attachment_uris'] }}",
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
    production = model_approval_gate(
        approval_task_id="production_approval",
        name="production",
        approval_kind="PRODUCTION",
        model_id=MODEL_ID,
        then="mark_approved_for_deployment",
    )
    approved = MarkApprovedForDeploymentOperator(
        task_id="mark_approved_for_deployment",
        model_id=MODEL_ID,
        snapshot_id=SNAPSHOT_ID,
        decision=decision_of("production_approval"),
    )
    deploy = DeployEndpointOperator(task_id="deploy_endpoint", model_id=MODEL_ID, snapshot_id=SNAPSHOT_ID)
    deployed = WaitForDeploymentSensor(task_id="wait_for_deployment", model_id=MODEL_ID)

    onboard >> start_review >> pia.approval
    pia.branch >> snapshot >> risk_tests >> document >> review.approval
    review.branch >> accept >> awaiting >> production.approval
    production.branch >> approved >> deploy >> deployed
