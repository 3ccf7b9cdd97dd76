"""The governance action step: a thin adapter over ``services.actions.GovernanceActionService``.

One task performs one action asked for in the ``model_governance_action`` DAG's form (or the REST API, or
the dashboard's buttons): hold, resume, start_change, decommission, propose, advance, hand_over
(docs/after-go-live.md). Its SageMaker writes are keyed by the DAG run, so a retry writes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from model_governance.operators.base import GovernanceBaseOperator, task_key

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.inventory import Model
    from model_governance.registry import GovernanceLinks


class GovernanceActionOperator(GovernanceBaseOperator):
    """Perform a governance action on a model version or a use case, audited with who asked and why.

    :param action: hold, resume, start_change, decommission, propose, advance or hand_over (templated).
    :param reason: why (required; templated).
    :param requested_by: who asks (templated); the DAG run's triggering user when empty.
    :param model: the model version: package ARN or inventory id (templated), or
    :param use_case_id: the use case (templated).
    :param to_status: for ``advance``: the early stage to move to (templated).
    """

    template_fields: Sequence[str] = ("action", "reason", "requested_by", "model", "use_case_id", "to_status")
    ui_color = "#fdf1e4"

    def __init__(
        self,
        *,
        action: str,
        reason: str,
        requested_by: str | None = None,
        model: str | int | None = None,
        use_case_id: str | int | None = None,
        to_status: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.action = action
        self.reason = reason
        self.requested_by = requested_by
        self.model = model
        self.use_case_id = use_case_id
        self.to_status = to_status

    def execute(self, context: Context) -> dict[str, Any]:
        from model_governance.services.actions import ActionRequest, GovernanceActionService

        dag_id, run_id, _ = task_key(context)
        requested_by = self.requested_by or _triggering_user(context)
        request = ActionRequest.parse(
            {
                "action": self.action,
                "reason": self.reason,
                "requested_by": requested_by,
                "model": self.model,
                "use_case_id": self.use_case_id,
                "to_status": self.to_status,
            },
            dag_id=dag_id,
            run_id=run_id,
        )
        for entity in self.config.business_entities:
            self.record_business_entity(entity)
        service = GovernanceActionService(
            inventory=self.inventory,
            connections=self.connections,
            notify=self._mail,
            links_of=self._links,
            on_decommission=self.config.deployment.on_decommission,
            stop_run=self._run_stopper(),
        )
        result = service.perform(request)
        self.log.info("Governance action %s by %s: %s", request.action.value, requested_by, result.detail())
        return result.to_dict()

    def _links(self, model: Model) -> GovernanceLinks | None:
        from model_governance.registry import GovernanceLinks

        entity = self.connections.of_model(model).name
        row = self.inventory.governance_links(entity, model_ids=[model.id]).get(model.package_arn)
        return GovernanceLinks.from_inventory(row, self.config.dashboard_base_url) if row else None

    def _mail(self, subject: str, body: str, to: Sequence[str]) -> None:
        if not to:
            self.notify(subject, body)
            return
        from model_governance.operators.use_case import _send_mail

        try:
            _send_mail(self.config, list(to), subject, body)
        except Exception:  # the action is done and recorded; a mail outage is logged, and operators told
            self.log.exception("Could not email %s: %s", ", ".join(to), subject)
            self.notify(f"Undelivered: {subject}", body)

    def _run_stopper(self) -> Any:
        settings = self.config.sync
        if settings.airflow_api_conn_id is None:
            return None
        from model_governance.hooks.airflow_api import AirflowApiHook

        hook = AirflowApiHook(airflow_api_conn_id=settings.airflow_api_conn_id)
        return lambda run_id, reason: hook.stop_dag_run(settings.implementation_dag_id, run_id, reason)


def _triggering_user(context: Context) -> str:
    run = context.get("dag_run")
    who = getattr(run, "triggering_user_name", None) if run is not None else None
    return str(who or "")
