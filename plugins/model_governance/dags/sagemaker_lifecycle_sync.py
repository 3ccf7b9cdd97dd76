"""SageMaker lifecycle sync: each model's governance status and its SageMaker ModelLifeCycle in step.

Runs when a business entity's SQS FIFO queue (fed by an EventBridge rule on SageMaker model package
changes) has messages, watched in the triggerer, and on a schedule as an incremental reconcile (Search by
LastModifiedTime since a stored watermark), with a full reconcile now and then. Per registry (one mapped
task each, so one registry down stops no other): new versions of linked groups are onboarded and their
implementation run started once (deterministic run id); SageMaker-side changes the mapping table lets
SageMaker make are applied; others are drift and reverted; unknown pairs are reported; deleted or
archived packages are decommissioned; governance links are written back to the package.

The queues are read from the settings at parse time, from the environment only (MODEL_GOVERNANCE_CONFIG
or MODEL_GOVERNANCE__*), never from the Variable: a parse must not query the metadata database.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, AssetAny, AssetOrTimeSchedule, CronTriggerTimetable, Param, task

from model_governance.config import load_config
from model_governance.notifications.email import notify_task_failure
from model_governance.operators.sync import SyncRegistryOperator, event_assets

settings = load_config(variable_text="")  # environment only: cheap, no database at parse time
assets = event_assets(settings)
cron = settings.sync.reconcile_schedule
timetable = CronTriggerTimetable(cron, timezone="UTC") if cron else None

with DAG(
    dag_id="sagemaker_lifecycle_sync",
    description="SageMaker ModelLifeCycle <-> governance status, from SQS events and reconciles",
    schedule=(
        AssetOrTimeSchedule(timetable=timetable, assets=AssetAny(*assets))
        if assets and timetable
        else AssetAny(*assets)
        if assets
        else timetable
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"on_failure_callback": notify_task_failure},
    tags=["model-governance"],
    doc_md=__doc__,
    params={"full": Param(False, type="boolean", title="Full reconcile of every registry")},
) as dag:

    @task
    def business_entities() -> list[str]:
        from model_governance.config import load_config

        return [entity.name for entity in load_config().business_entities]

    synced = SyncRegistryOperator.partial(
        task_id="sync_registry",
        full="{{ params.full }}",
        # the very assets with their watchers: Airflow keeps one definition per asset, the last it meets,
        # and a watcherless copy here would remove the queue's watcher (queued_messages reads them)
        inlets=assets,
        retries=2,
        retry_delay=pendulum.duration(seconds=30),
    ).expand(business_entity=business_entities())

    @task(trigger_rule="all_done")
    def runs_to_start(results: Any) -> list[dict[str, Any]]:
        return [run for result in results if result for run in result["runs"]]

    runs = runs_to_start(synced.output)
    started = TriggerDagRunOperator.partial(
        task_id="start_implementation_run",
        trigger_dag_id=settings.sync.implementation_dag_id,
        logical_date=None,
        skip_when_already_exists=True,
        wait_for_completion=False,
    ).expand_kwargs(runs)

    @task
    def record_runs_started(runs: Any) -> int:
        from model_governance.operators.sync import record_runs_started

        return record_runs_started(runs)

    @task(trigger_rule="all_done")
    def notify_findings(results: Any) -> int:
        from model_governance.operators.sync import notify_findings

        return notify_findings(results)

    started >> record_runs_started(runs)
    notify_findings(synced.output)
