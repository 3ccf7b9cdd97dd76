"""The base of every governance operator, in the shape of the Amazon provider's ``AwsBaseOperator``.

``GovernanceBaseOperator`` gives a task what it works with, each opened at run time on first use, never in
``__init__`` or at DAG parse: the deployment settings (``config``), the governance inventory
(``inventory``) and the AWS connections of the business entities (``connections``: one lookup per entity,
``services.connections``). ``ModelOperator`` adds the model version a step is about (``model_id``), its
entity's hooks (``entity``), the evidence store (``evidence``) and the governed status move (``move_to``).

Operators are thin adapters over the services: keyword-only constructors that only store their arguments,
``template_fields`` written out in each class, the work in ``execute``. Heavy libraries (boto3, botocore,
the Amazon provider's hooks, the risk test engine) are imported where they are used, so a DAG file that
imports the operators parses cheaply.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseOperator

from model_governance.hooks.connections import governance_connections

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.config import BusinessEntityConfig, GovernanceConfig
    from model_governance.inventory import Inventory, Model
    from model_governance.lifecycle import GovernanceStatus
    from model_governance.services.connections import EntityConnections, GovernanceConnections
    from model_governance.services.evidence_store import EvidenceStore


def idempotent_retries(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with two retries 30 s apart unless the task sets its own. For tasks whose every step is
    idempotent, so retries are safe; they also absorb Airflow's stale defer-exit race
    (apache/airflow#72716), which fails a resumed task without running it."""
    kwargs.setdefault("retries", 2)
    kwargs.setdefault("retry_delay", timedelta(seconds=30))
    return kwargs


def task_key(context: Context) -> tuple[str, str, str]:
    """(dag_id, run_id, task_id): what every external write of the task is keyed by (never try_number)."""
    ti = context["ti"]
    return (ti.dag_id, ti.run_id, ti.task_id)


class GovernanceBaseOperator(BaseOperator):
    """Base of the governance operators: the settings, the inventory and the entities' connections."""

    template_fields: Sequence[str] = ()

    @cached_property
    def config(self) -> GovernanceConfig:
        from model_governance.config import load_config

        return load_config()

    @cached_property
    def inventory(self) -> Inventory:
        from model_governance.hooks.inventory import GovernanceInventoryHook

        return GovernanceInventoryHook(self.config).get_conn()

    @cached_property
    def connections(self) -> GovernanceConnections:
        return governance_connections(self.config, lambda: self.inventory)

    def record_business_entity(self, entity: BusinessEntityConfig) -> None:
        """The entity as configured, in the inventory (created once; its settings kept in step)."""
        self.inventory.ensure_business_entity(
            name=entity.name,
            account_id=entity.account_id,
            region=entity.region,
            aws_conn_id=entity.aws_conn_id,
            role_arn=entity.role_arn,
        )

    def notify(self, subject: str, body: str) -> None:
        """Email the operators; a mail outage is logged, never fails the step it reports on."""
        from model_governance.notifications.email import notify_operators

        try:
            notify_operators(subject, body, config=self.config)
        except Exception:
            self.log.exception("Could not notify operators: %s", subject)


class ModelOperator(GovernanceBaseOperator):
    """A step about one model version, found in the inventory by id.

    :param model_id: the inventory id of the model version (templated).
    """

    template_fields: Sequence[str] = ("model_id",)

    def __init__(self, *, model_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_id = model_id

    @cached_property
    def model(self) -> Model:
        return self.inventory.get_model(int(self.model_id))

    @cached_property
    def entity(self) -> EntityConnections:
        """The connection, region and hooks of the model's business entity."""
        return self.connections.of_model(self.model)

    @cached_property
    def evidence(self) -> EvidenceStore:
        """The governance bucket, written through the model's connection."""
        return self.entity.evidence(self.config.governance_bucket)

    def move_to(
        self, context: Context, status: GovernanceStatus, reason: str, *, actor: str | None = None
    ) -> None:
        """Record the status (inventory first: the system of record) and write it to SageMaker."""
        from model_governance.inventory import EventSource
        from model_governance.lifecycle import may_go_to_sagemaker
        from model_governance.registry import GovernanceLinks
        from model_governance.services.approvals import require_gates_passed
        from model_governance.services.writeback import GovernanceWriteBack

        key = task_key(context)
        actor = actor or "airflow:{}/{}/{}".format(*key)
        if self._moved_on_since(status, actor):
            return
        # A status a gate grants needs the gate's verified approvals in this run, whatever the task
        # upstream returned: marking an approval task success in the Airflow UI must not approve.
        require_gates_passed(
            self.inventory.approvals(model_id=self.model.id),
            status=status.value,
            model_arn=self.model.package_arn,
            dag_id=key[0],
            run_id=key[1],
        )
        self.inventory.transition(
            self.model, status, source=EventSource.GOVERNANCE, actor=actor, reason=reason
        )
        row = self.inventory.governance_links(self.entity.name, model_ids=[self.model.id]).get(
            self.model.package_arn
        )
        # The one write-back the sync uses too: lifecycle (where governance originates the status), approval
        # status and links, in one UpdateModelPackage keyed by this task, only what differs.
        result = GovernanceWriteBack(self.entity.registry).write(
            status,
            arn=self.model.package_arn,
            links=GovernanceLinks.from_inventory(row, self.config.dashboard_base_url) if row else None,
            write_lifecycle=may_go_to_sagemaker(status),
            token_parts=key,
            description=reason,
        )
        self.log.info(
            "Model %s is now %s: %s (SageMaker: %s)",
            self.model.package_arn,
            status.value,
            reason,
            result.describe() if result.written else "already in step",
        )

    def _moved_on_since(self, status: GovernanceStatus, actor: str) -> bool:
        """True when this task already made this step in this DAG run and the model has moved on since (a
        cleared, re-run DAG run of a model that went further): the step is done; moving the model back, or
        writing the old status to SageMaker, would undo the later steps."""
        current = self.model.status  # read when this try began; the transition re-reads it under its lock
        if current == status.value:
            return False  # still here: the ordinary retry, a no-op transition and write-back
        done = any(
            event.actor == actor and event.to_status == status.value
            for event in self.inventory.status_history(self.model)
        )
        if done:
            self.log.info(
                "Model %s: this task moved it to %s in this run already; it is %s now, so nothing is written",
                self.model.package_arn,
                status.value,
                current,
            )
        return done

    def defer_on_sagemaker(
        self, resource: str, name: str, *, poll_interval: float, timeout: timedelta, kwargs: dict[str, Any]
    ) -> NoReturn:
        """Wait in the triggerer until the entity's SageMaker ``resource`` (a Processing job, an endpoint)
        called ``name`` settles; the task resumes in ``execute_complete`` with ``kwargs``."""
        from model_governance.triggers.sagemaker import SageMakerWaitTrigger

        conn_id = self.entity.aws_conn_id
        assert conn_id is not None  # a business entity always names its connection
        self.defer(
            trigger=SageMakerWaitTrigger(
                resource=resource,
                name=name,
                aws_conn_id=conn_id,
                region_name=self.entity.region,
                poll_interval=poll_interval,
            ),
            method_name="execute_complete",
            kwargs=kwargs,
            timeout=timeout,
        )
