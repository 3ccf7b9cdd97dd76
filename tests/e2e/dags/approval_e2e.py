"""A one-task DAG for the end-to-end approval test: open a PIA ticket and wait in the triggerer."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from model_governance.operators.jira import JiraApprovalOperator

with DAG(
    dag_id="approval_e2e",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["e2e"],
):
    JiraApprovalOperator(
        task_id="pia_approval",
        approval_kind="PIA",
        jira_conn_id="jira_e2e",
        project_key="MLC",
        summary="PIA approval: churn model v1",
        description="Review the privacy impact assessment of churn model v1.",
        model_owner="risk-officer@example.com",
        requester="mlc-bot@example.com",
        record_decision=False,
        poll_interval=2,
        direct_check_interval=3600,
        search_lag_margin=60,
    )
