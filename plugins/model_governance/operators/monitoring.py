"""The ``model_monitoring`` DAG's step: carry the monitoring findings into Jira (``services.monitoring``).

A thin adapter: the settings, the inventory, the Jira hook, the owner's email and the governed status move
(inventory transition + the one write-back to SageMaker) are handed to ``MonitoringService.carry``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from model_governance.operators.base import GovernanceBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.hooks.jira import JiraHook
    from model_governance.inventory import Model
    from model_governance.lifecycle import GovernanceStatus
    from model_governance.services.monitoring import MonitoringService


class CarryMonitoringFindingsOperator(GovernanceBaseOperator):
    """Open, update and close the Jira tickets of the monitoring findings; notify owners; apply the risk
    level's breach policy. Every write is idempotent (marker labels, marked comments, read-back moves), so
    a retried or overlapping run creates nothing twice.

    :param jira_conn_id: the Jira connection; None takes ``jira.conn_id``.
    """

    template_fields: Sequence[str] = ()
    ui_color = "#fdecea"

    def __init__(self, *, jira_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.jira_conn_id = jira_conn_id

    @cached_property
    def hook(self) -> JiraHook:
        from model_governance.hooks.jira import JiraHook

        return JiraHook(self.jira_conn_id or self.config.jira.conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        result = self.service(context).carry()
        self.log.info("Monitoring findings: %s", result.to_dict())
        if result.failed:
            self.notify(
                f"{len(result.failed)} monitoring finding(s) could not be carried into Jira",
                "\n".join(f"finding {k}: {v}" for k, v in sorted(result.failed.items())),
            )
        return result.to_dict()

    def service(self, context: Context) -> MonitoringService:
        from model_governance.services.monitoring import MonitoringService

        def move(model: Model, status: GovernanceStatus, reason: str) -> None:
            self.move_model(context, model, status, reason)

        return MonitoringService(
            inventory=self.inventory,
            config=self.config,
            jira=self.hook,
            notify_owner=self.mail_owner,
            move_model=move,
        )

    def move_model(self, context: Context, model: Model, status: GovernanceStatus, reason: str) -> None:
        """The governed move (inventory first), written back to the package in one keyed update."""
        from model_governance.inventory import EventSource
        from model_governance.lifecycle import may_go_to_sagemaker
        from model_governance.operators.base import task_key
        from model_governance.registry import GovernanceLinks
        from model_governance.services.writeback import GovernanceWriteBack

        key = task_key(context)
        self.inventory.transition(
            model, status, source=EventSource.GOVERNANCE, actor="airflow:{}/{}/{}".format(*key), reason=reason
        )
        entity = self.connections.of_model(model)
        row = self.inventory.governance_links(entity.name, model_ids=[model.id]).get(model.package_arn)
        GovernanceWriteBack(entity.registry).write(
            status,
            arn=model.package_arn,
            links=GovernanceLinks.from_inventory(row, self.config.dashboard_base_url) if row else None,
            write_lifecycle=may_go_to_sagemaker(status),
            token_parts=(*key, str(model.id)),
            description=reason,
        )

    def mail_owner(self, to: str, subject: str, body: str) -> None:
        """Mail the owner (and the operators); a mail outage is logged by the service, not fatal."""
        import html

        from airflow.providers.smtp.hooks.smtp import SmtpHook

        settings = self.config.notifications
        recipients = sorted({to, *settings.operators} - {""})
        with SmtpHook(smtp_conn_id=settings.smtp_conn_id) as smtp:
            smtp.send_email_smtp(
                to=recipients,
                subject=f"[model governance] {subject}",
                html_content=f"<pre>{html.escape(body)}</pre>",
                from_email=settings.from_email,
            )
