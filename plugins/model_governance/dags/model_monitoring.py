"""Model monitoring: carry monitoring findings into Jira.

The dashboard's monitoring push API (``POST /model-governance/api/v1/metrics``) records each value and
opens, updates or clears the model's finding of that metric in the inventory at once; this DAG, every few
minutes (``monitoring.schedule``), opens one Jira ticket per finding (found again by its marker label),
comments while the breach lasts, moves the ticket to Done when it clears, tells the owner, and applies
the risk level's ``monitoring.on_breach`` policy (``model_change``: a Deployed model goes to Model Change
in Progress). The schedule is read from the environment only, never from the Variable, at parse time.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronTriggerTimetable

from model_governance.config import load_config
from model_governance.notifications.email import notify_task_failure
from model_governance.operators.monitoring import CarryMonitoringFindingsOperator

cron = load_config(variable_text="").monitoring.schedule  # environment only: no database at parse time

with DAG(
    dag_id="model_monitoring",
    description="Monitoring findings: one Jira ticket per model and breach kind, opened, updated, closed",
    schedule=CronTriggerTimetable(cron, timezone="UTC") if cron else None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "on_failure_callback": notify_task_failure,
        "retries": 2,
        "retry_delay": pendulum.duration(seconds=30),
    },
    tags=["model-governance"],
    doc_md=__doc__,
) as dag:
    CarryMonitoringFindingsOperator(task_id="carry_findings")
