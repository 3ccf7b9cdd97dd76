"""The ``model_revalidation`` DAG's steps, thin adapters over ``services.revalidation``:
``DueRevalidationsOperator`` lists the Deployed models due, ``RevalidateModelOperator`` (mapped, one per
model) runs the standard risk tests on the production data, renders the revalidation document and opens
the REVALIDATION approval ticket through the approval service (it is a ``JiraApprovalOperator``), waits
for the verified decision in the triggerer and records it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from model_governance.operators.base import GovernanceBaseOperator
from model_governance.operators.jira import JiraApprovalOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.approvals import Decision
    from model_governance.services.revalidation import RevalidationService


class DueRevalidationsOperator(GovernanceBaseOperator):
    """The model ids due for revalidation (overdue first), for the mapped revalidation task."""

    def execute(self, context: Context) -> list[int]:
        from model_governance.services.revalidation import RevalidationService

        due = RevalidationService(inventory=self.inventory, config=self.config).due()
        self.log.info("Due for revalidation: %s", [d.to_dict() for d in due])
        return [d.model_id for d in due]


class RevalidateModelOperator(JiraApprovalOperator):
    """Revalidate one Deployed model: tests on production data, document, REVALIDATION approval.

    :param model_id: the model (templated; mapped over the due models).
    """

    template_fields: Sequence[str] = JiraApprovalOperator.template_fields

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("approval_kind", "REVALIDATION")
        kwargs.setdefault("raise_on_reject", False)
        super().__init__(**kwargs)
        self._run_key = ""

    def run_key(self, context: Context) -> str:
        from model_governance.services.revalidation import revalidation_key

        ti = context["ti"]
        return revalidation_key(ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", None))

    def service(self) -> RevalidationService:
        from model_governance.services.revalidation import RevalidationService

        model = self.inventory.get_model(int(self.model_id or 0))
        entity = self.connections.of_model(model)
        return RevalidationService(
            inventory=self.inventory,
            config=self.config,
            s3_client=entity.s3_client,
            aws_conn_id=entity.aws_conn_id,
            evidence=entity.evidence(self.config.governance_bucket),
            registry=entity.registry,
        )

    def execute(self, context: Context) -> Any:
        from model_governance.services.approvals import airflow_run_url

        service = self.service()
        model = self.inventory.get_model(int(self.model_id or 0))
        key = self._run_key = self.run_key(context)
        service.start(model, key)
        tested = service.test(model, key)
        self.log.info("Revalidation tests of %s: %s", model.package_arn, tested)
        ti = context["ti"]
        document = service.document(
            model, key, airflow_run_url=airflow_run_url(self.config.airflow_base_url, ti.dag_id, ti.run_id)
        )
        self.attachment_uris = {**document["attachment_uris"], **dict(self.attachment_uris or {})}  # type: ignore[arg-type]
        return super().execute(context)

    def execute_complete(self, context: Context, *args: Any, **kwargs: Any) -> Any:
        self._run_key = self.run_key(context)
        return super().execute_complete(context, *args, **kwargs)

    def _conclude(self, decision: Decision) -> dict[str, Any]:
        """Record the verified decision as the revalidation's outcome (Done: valid one interval)."""
        from model_governance.approvals import Outcome

        model = self.inventory.get_model(int(self.model_id or 0))
        result = self.service().decided(model, self._run_key, decision)
        if decision.outcome is not Outcome.APPROVED:
            self.notify(
                f"Revalidation of {model.package_arn} rejected ({decision.issue_key})",
                "The model stays due for revalidation (overdue on the dashboard once past its due date).",
            )
        return {**super()._conclude(decision), "revalidation": result}
