"""Use case registration: a proposed AI use case, its approval in Jira, and its SageMaker model group.

Trigger it from the Airflow UI's trigger form or the REST API with the use case's details. The use case is
recorded as Proposed and a USE_CASE approval ticket is opened; the run then waits in the triggerer (no
worker slot) until a reviewer other than the owner moves the ticket. Done: the SageMaker model package
group is created (tagged with the use case), linked in the inventory, and the data science team is emailed
how to register governed model versions into it. Rejected: the use case is recorded as rejected and the
requester is told.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from model_governance.operators.branching import ApprovalOutcomeBranchOperator
from model_governance.operators.jira import JiraApprovalOperator
from model_governance.operators.use_case import (
    CreateModelGroupOperator,
    EmailModelGroupCreatedOperator,
    RecordUseCaseOperator,
    RecordUseCaseRejectionOperator,
)

USE_CASE_ID = "{{ ti.xcom_pull(task_ids='record_use_case')['use_case_id'] }}"

with DAG(
    dag_id="use_case_registration",
    description="Register an AI use case: Jira approval, then its SageMaker model package group",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=16,
    # The form arrives as a dict and task results as ints/dicts, not their string forms.
    render_template_as_native_obj=True,
    tags=["model-governance"],
    doc_md=__doc__,
    params={
        "name": Param(type="string", minLength=3, maxLength=200, title="Use case name"),
        "description": Param(
            "", type="string", title="Business problem", description="What it decides, for whom"
        ),
        "business_entity": Param(type="string", title="Business entity", description="A configured registry"),
        "risk_level": Param("Medium", enum=["High", "Medium", "Low"], title="Risk level"),
        "owner": Param(type="string", format="idn-email", title="Owner (email)"),
        "data_science_email": Param(type="string", format="idn-email", title="Data science team (email)"),
        "model_type": Param("SAGEMAKER", enum=["SAGEMAKER"], title="Model type"),
    },
) as dag:
    record = RecordUseCaseOperator(task_id="record_use_case", use_case="{{ params }}")
    approval = JiraApprovalOperator(
        task_id="use_case_approval",
        approval_kind="USE_CASE",
        use_case_id=USE_CASE_ID,
        model_owner="{{ params.owner }}",
        requester="{{ params.owner }}",
        raise_on_reject=False,
    )
    branch = ApprovalOutcomeBranchOperator(
        task_id="follow_decision",
        approval_task_id="use_case_approval",
        approved=["create_model_group"],
        rejected=["record_rejection"],
    )
    create_group = CreateModelGroupOperator(task_id="create_model_group", use_case_id=USE_CASE_ID)
    email_team = EmailModelGroupCreatedOperator(task_id="email_data_science_team", use_case_id=USE_CASE_ID)
    rejection = RecordUseCaseRejectionOperator(
        task_id="record_rejection",
        use_case_id=USE_CASE_ID,
        decision="{{ ti.xcom_pull(task_ids='use_case_approval') }}",
    )

    record >> approval >> branch >> [create_group, rejection]
    create_group >> email_team
