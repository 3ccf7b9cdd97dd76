"""Step 7 of the MLC when the DAG deploys: the snapshot's endpoint configuration on a SageMaker endpoint.

With ``deployment.deploy_endpoint`` off (the default) the task does nothing and an outside deployer deploys
and reports Deployment/Complete in SageMaker, which ``WaitForDeploymentSensor`` waits for. With it on, the
task makes the endpoint named by ``deployment.endpoint_name`` serve the endpoint configuration recorded in
the snapshot's manifest, through ``services.deployment.EndpointDeployment``: it creates the endpoint when
there is none, updates it when it serves another configuration, and leaves it alone when it already serves
this one; it waits in the triggerer while SageMaker creates or updates it, checks that the endpoint serves
this version (a model container naming the package, or the snapshot's image and model data:
``services/endpoints.py``), then reports Deployment/Complete on the package (as the deployer would), so the
sensor records the model Deployed from SageMaker's word and the same check.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from model_governance.exceptions import RegistryError
from model_governance.operators.base import ModelOperator, idempotent_retries, task_key

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.services.deployment import EndpointDeployment


class DeployEndpointOperator(ModelOperator):
    """Deploy the snapshot's endpoint configuration to the model's endpoint (when configured), deferrably.

    :param model_id: the inventory id of the model version (templated).
    :param snapshot_id: the snapshot approved for production (templated); its manifest names the endpoint
        configuration.
    :param max_rounds: how many create/update-then-wait rounds the task may take (another writer may
        change the endpoint while it waits).
    """

    template_fields: Sequence[str] = ("model_id", "snapshot_id")
    ui_color = "#e6f3fd"

    def __init__(self, *, snapshot_id: int | str, max_rounds: int = 3, **kwargs: Any) -> None:
        super().__init__(**idempotent_retries(kwargs))
        self.snapshot_id = snapshot_id
        self.max_rounds = max_rounds

    def execute(self, context: Context) -> dict[str, Any]:
        if not self.config.deployment.deploy_endpoint:
            self.log.info(
                "deployment.deploy_endpoint is off: the deployer deploys and reports it in SageMaker"
            )
            return {"deployed_by": "deployer", "endpoint": None}
        return self._step(context, 1)

    def execute_complete(
        self,
        context: Context,
        event: dict[str, Any] | None = None,
        round_number: int | None = None,
        endpoint: str | None = None,
    ) -> dict[str, Any]:
        from model_governance.triggers.sagemaker import SUCCESS

        if (
            not isinstance(event, dict)
            or not isinstance(round_number, int)
            or not endpoint
            or event.get("name") != endpoint
        ):
            raise RegistryError(
                f"Unexpected resume of task {self.task_id!r}: event {event!r}, round {round_number!r}, "
                f"endpoint {endpoint!r}. Clear the task to look at the endpoint again."
            )
        if event.get("status") != SUCCESS:
            raise RegistryError(
                f"SageMaker endpoint {endpoint} did not come into service: {event.get('status')} "
                f"({event.get('resource_status') or 'no status'}: "
                f"{event.get('failure_reason') or event.get('message') or 'no reason given'}). Fix the "
                "endpoint or its configuration in SageMaker, then clear this task."
            )
        return self._step(context, round_number)

    # -- helpers --------------------------------------------------------------------------------------

    @cached_property
    def deployment(self) -> EndpointDeployment:
        """The endpoint deployment service over the model's entity's hooks and the inventory."""
        from model_governance.services.deployment import EndpointDeployment

        return EndpointDeployment(
            inventory=self.inventory,
            jobs=self.entity.jobs,
            registry=self.entity.registry,
            model=self.model,
            snapshot_id=int(self.snapshot_id),
            settings=self.config.deployment,
            max_rounds=self.max_rounds,
        )

    def _step(self, context: Context, round_number: int) -> dict[str, Any]:
        from model_governance.services.deployment import WaitOnEndpoint

        outcome = self.deployment.advance(round_number, task_key(context))
        if isinstance(outcome, WaitOnEndpoint):
            self._defer(outcome.name, round_number + 1)
        return outcome

    def _defer(self, name: str, next_round: int) -> NoReturn:
        from model_governance.triggers.sagemaker import ENDPOINT

        settings = self.config.deployment
        self.defer_on_sagemaker(
            ENDPOINT,
            name,
            poll_interval=settings.poll_interval_seconds,
            timeout=timedelta(minutes=settings.timeout_minutes),
            kwargs={"round_number": next_round, "endpoint": name},
        )
