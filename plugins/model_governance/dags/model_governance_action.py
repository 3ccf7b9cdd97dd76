"""Governance actions after go-live (and before a model exists), one run per action (docs/after-go-live.md).

Trigger it from the Airflow UI's trigger form, the REST API or the governance dashboard's model page:

- ``hold`` / ``resume`` a model version or a whole use case (On Hold - Proposal / On Hold - Development; an
  implementation run waiting on a Jira gate stays parked while on hold and goes on after the resume);
- ``start_change`` for a Deployed version (Model Change in Progress; the group's next version runs the MLC
  as the change, its review document compares it with this champion);
- ``decommission`` (Decommissioning; endpoints as ``deployment.on_decommission`` says; the model card
  archived; Decommissioned);
- ``propose`` / ``advance`` / ``hand_over`` for a use case that starts from governance (Proposed, Model
  Definition, Data Acquisition (Complete), Feature Engineering (Complete), then Under Development with the
  data science team emailed).

Every action records who asked and why (audited), and writes the status to SageMaker's ModelLifeCycle.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from model_governance.operators.actions import GovernanceActionOperator

ACTIONS = ["hold", "resume", "start_change", "decommission", "propose", "advance", "hand_over"]
EARLY_STAGES = [
    "",
    "Model Definition",
    "Data Acquisition",
    "Data Acquisition Complete",
    "Feature Engineering",
    "Feature Engineering Complete",
]

with DAG(
    dag_id="model_governance_action",
    description="A governance action: hold, resume, model change, decommission, the early stages",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=8,
    tags=["model-governance"],
    doc_md=__doc__,
    params={
        "action": Param("hold", enum=ACTIONS, title="Action"),
        "model": Param(
            "",
            type="string",
            title="Model version",
            description="Model package ARN or inventory id (empty when the action is about a use case)",
        ),
        "use_case_id": Param(
            "", type="string", title="Use case id", description="Inventory id (empty for a model version)"
        ),
        "reason": Param(type="string", minLength=3, maxLength=2000, title="Reason (required, audited)"),
        "requested_by": Param(
            "", type="string", title="Requested by", description="Empty: the user who triggers the run"
        ),
        "to_status": Param("", enum=EARLY_STAGES, title="Advance to (advance only)"),
    },
) as dag:
    GovernanceActionOperator(
        task_id="perform_action",
        action="{{ params.action }}",
        model="{{ params.model }}",
        use_case_id="{{ params.use_case_id }}",
        reason="{{ params.reason }}",
        requested_by="{{ params.requested_by }}",
        to_status="{{ params.to_status }}",
        retries=2,
    )
