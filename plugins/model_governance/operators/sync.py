"""The lifecycle sync's tasks: apply one registry's queued events, reconcile it, settle its messages.

One ``SyncRegistryOperator`` task per business entity (mapped), so a registry that is down or throttled
fails its own task and no other. The rules live in ``model_governance.sync`` (no Airflow there); settling
the queue and the implementation runs to start in ``model_governance.services.sync_queue``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from model_governance.exceptions import ExternalServiceError, RegistryError
from model_governance.operators.base import GovernanceBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.config import BusinessEntityConfig, GovernanceConfig
    from model_governance.services.endpoints import EndpointReconciler
    from model_governance.sync import QueueMessage, SyncReport

#: The asset a business entity's queue feeds (one per entity; the DAG file builds its watcher).
ASSET_PREFIX = "model_governance.sagemaker_events."


def events_asset_name(business_entity: str) -> str:
    return f"{ASSET_PREFIX}{business_entity}"


def queued_messages(context: Context, business_entity: str) -> list[QueueMessage]:
    """The SQS messages this run is to apply for ``business_entity``: those of the asset events that
    triggered the run, and those of the entity's asset events recorded since (the task's inlets).

    Why the second part: Airflow 3.3's scheduler can leave an asset event to no run. Creating an
    asset-triggered run reads the queued events, then deletes the DAG's queue rows; an event recorded in
    between (typically the SageMaker event of the sync's own write-back a second earlier) loses its row and
    waits for the next event, while its messages stay invisible on the queue (the trigger received them)
    for ``sync.visibility_timeout_seconds``. Reading the entity's events recorded since the run's first
    triggering event takes them in this run. A message a later run takes too is applied twice, which is
    harmless (the sync applies the package's current state) and deleted by whichever holds its newest
    receipt. A run no asset event triggered (a reconcile on the clock) takes only what it reconciles."""
    from model_governance.sync import QueueMessage

    triggering = context.get("triggering_asset_events") or {}
    wanted = events_asset_name(business_entity)
    stamps = [event.timestamp for asset in triggering for event in triggering[asset]]
    events: list[Any] = [
        e for asset in triggering if getattr(asset, "name", None) == wanted for e in triggering[asset]
    ]
    if stamps:
        events += _recorded_since(context, wanted, min(stamps))
    messages: dict[str, QueueMessage] = {}
    # oldest first: a message delivered again carries a new receipt handle, and only the newest deletes it
    for event in sorted(events, key=lambda e: (e.timestamp, getattr(e, "id", 0))):
        payload = (event.extra or {}).get("payload") or {}
        for raw in payload.get("message_batch") or []:
            if isinstance(raw, dict) and raw.get("MessageId") and raw.get("ReceiptHandle"):
                messages[raw["MessageId"]] = QueueMessage(
                    message_id=str(raw["MessageId"]),
                    receipt_handle=str(raw["ReceiptHandle"]),
                    body=str(raw.get("Body", "")),
                )
    return list(messages.values())


def _recorded_since(context: Context, asset_name: str, since: datetime) -> list[Any]:
    """The events of ``asset_name`` recorded at or after ``since`` (the task's inlet events; none when the
    asset is not among the task's inlets, as in a DAG parsed before the inlets were declared)."""
    from airflow.sdk import Asset

    inlet_events = context.get("inlet_events")
    if inlet_events is None:
        return []
    try:
        accessor = inlet_events[Asset.ref(name=asset_name)]
    except KeyError:
        return []
    return list(accessor.after(since.isoformat()))


class SyncRegistryOperator(GovernanceBaseOperator):
    """Sync one business entity's registry with the inventory; returns the implementation runs to start.

    Queued events first (those of the asset events that triggered the run), then a reconcile: full when
    ``full`` is set or the last full one is older than ``sync.full_reconcile_hours``, else incremental.

    :param business_entity: the entity's name in the settings (templated; mapped over the entities).
    :param full: force a full reconcile (templated, e.g. from a run param).
    """

    template_fields: Sequence[str] = ("business_entity", "full")

    def __init__(self, *, business_entity: str, full: bool | str = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.business_entity = business_entity
        self.full = full

    def execute(self, context: Context) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        from model_governance.inventory import SyncIssueKind
        from model_governance.services.sync_queue import implementation_runs
        from model_governance.sync import LifecycleSync

        entity = self.config.business_entity(self.business_entity)
        self.record_business_entity(entity)
        settings = self.config.sync
        sync = LifecycleSync(
            inventory=self.inventory,
            registry=self.connections.entity(entity).registry,
            business_entity=entity.name,
            lookback=timedelta(seconds=settings.lookback_seconds),
            dashboard_base_url=self.config.dashboard_base_url,
            stop_run=self._run_stopper(settings.airflow_api_conn_id, settings.implementation_dag_id),
            endpoints=self._endpoints(entity),
        )
        reports: list[SyncReport] = []
        try:
            messages = queued_messages(context, entity.name)
            if messages:
                events_report = sync.apply_messages(messages)
                self._settle(entity, events_report)
                reports.append(events_report)
            reports.append(sync.reconcile(full=self._full_due(entity.name)))
        except (RegistryError, ExternalServiceError, ClientError, BotoCoreError) as exc:
            self.inventory.record_sync_issue(
                kind=SyncIssueKind.REGISTRY_ERROR,
                # one open issue per registry and hour, however often the retries fail
                dedup_key=f"registry_error:{entity.name}:{datetime.now(UTC):%Y-%m-%dT%H}",
                detail=f"{type(exc).__name__}: {exc}",
                business_entity=entity.name,
            )
            raise RegistryError(
                f"The SageMaker registry of business entity {entity.name!r} ({entity.account_id}, "
                f"{entity.region}, connection {entity.aws_conn_id!r}) could not be synced: {exc}. Check the "
                "connection and the IAM policy in the README; the other registries are synced regardless."
            ) from exc
        self.inventory.resolve_sync_issues(business_entity=entity.name, kinds=[SyncIssueKind.REGISTRY_ERROR])
        for report in reports:
            self.log.info("Sync of %s (%s): %s", entity.name, report.mode, report.as_dict())
        return {
            "business_entity": entity.name,
            "reports": [report.as_dict() for report in reports],
            "findings": [f for report in reports for f in report.as_dict()["findings"]],
            "runs": implementation_runs(self.inventory, entity.name, limit=settings.max_runs_per_sync),
        }

    def _endpoints(self, entity: BusinessEntityConfig) -> EndpointReconciler:
        """What the registry's endpoints serve (Deployed means served; ungoverned endpoints found)."""
        from model_governance.services.endpoints import EndpointReconciler

        hooks = self.connections.entity(entity)
        return EndpointReconciler(
            inventory=self.inventory,
            client=hooks.jobs,
            registry=hooks.registry,
            business_entity=entity.name,
            on_decommission=self.config.deployment.on_decommission,
        )

    @staticmethod
    def _run_stopper(conn_id: str | None, dag_id: str) -> Callable[[str, str], bool] | None:
        if conn_id is None:
            return None
        from model_governance.hooks.airflow_api import AirflowApiHook

        hook = AirflowApiHook(airflow_api_conn_id=conn_id)
        return lambda run_id, reason: hook.stop_dag_run(dag_id, run_id, reason)

    def _full_due(self, business_entity: str) -> bool:
        if str(self.full).lower() in ("true", "1", "yes"):
            return True
        last = self.inventory.sync_watermark(business_entity).last_full_at
        due = timedelta(hours=self.config.sync.full_reconcile_hours)
        return last is None or datetime.now(UTC) - last >= due

    def _settle(self, entity: BusinessEntityConfig, report: SyncReport) -> None:
        """Settle the entity's queue after the sync applied its messages (``services.sync_queue``)."""
        if entity.sqs_queue_url is None:
            return
        from model_governance.services.sync_queue import QueueSettler

        QueueSettler(
            client=self.connections.entity(entity).sqs.get_conn(),
            queue_url=entity.sqs_queue_url,
            dead_letter_queue_url=entity.dead_letter_queue_url,
            business_entity=entity.name,
            inventory=self.inventory,
            settings=self.config.sync,
        ).settle(report)


def event_assets(config: GovernanceConfig) -> list[Any]:
    """One asset per business entity with a queue, watched in the triggerer by the common-messaging
    ``MessageQueueTrigger`` (SQS). Messages stay on the queue until the sync applied them (it deletes them),
    so none is lost when the triggerer restarts; a received message is invisible for
    ``sync.visibility_timeout_seconds``, and comes back if the sync never settled it."""
    settings = config.sync
    assets = []
    for entity in config.business_entities:
        if entity.sqs_queue_url is None:
            continue
        # Imported only when a queue is configured: the messaging provider imports every queue provider
        # (boto3 and botocore among them), which would otherwise cost every parse of the DAG file.
        from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger
        from airflow.sdk import Asset, AssetWatcher

        trigger = MessageQueueTrigger(
            scheme="sqs",
            sqs_queue=entity.sqs_queue_url,
            aws_conn_id=entity.aws_conn_id,
            region_name=entity.region,
            max_messages=10,
            wait_time_seconds=settings.wait_time_seconds,
            waiter_delay=settings.poll_interval_seconds,
            visibility_timeout=settings.visibility_timeout_seconds,
            delete_message_on_reception=False,
        )
        name = events_asset_name(entity.name)
        assets.append(Asset(name=name, watchers=[AssetWatcher(name=f"{name}.sqs", trigger=trigger)]))
    return assets


def record_runs_started(runs: Sequence[dict[str, Any]]) -> int:
    """After the implementation runs were started (or found started): they are no longer pending."""
    from model_governance.config import load_config
    from model_governance.hooks.inventory import GovernanceInventoryHook
    from model_governance.services import sync_queue

    return sync_queue.record_runs_started(GovernanceInventoryHook(load_config()).get_conn(), runs)


def notify_findings(results: Sequence[dict[str, Any] | None]) -> int:
    """One email to the operators with what every registry's sync found (drift, unknown pairs, dead
    letters, decommissions); returns how many findings were reported."""
    from model_governance.notifications.email import notify_operators

    lines = []
    for result in results:
        if not result:
            continue
        for finding in result["findings"]:
            lines.append(
                f"- [{result['business_entity']}] {finding['kind']}: {finding['package_arn'] or ''} "
                f"{finding['detail']}"
            )
    if lines:
        notify_operators(
            f"lifecycle sync: {len(lines)} finding(s)",
            "The SageMaker lifecycle sync found:\n" + "\n".join(lines),
        )
    return len(lines)
