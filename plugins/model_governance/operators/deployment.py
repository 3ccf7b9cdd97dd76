"""Step 7 of the MLC when the DAG deploys: the snapshot's endpoint configuration on a SageMaker endpoint.

With ``deployment.deploy_endpoint`` off (the default) the task does nothing and an outside deployer deploys
and reports Deployment/Complete in SageMaker, which ``WaitForDeploymentSensor`` waits for. With it on, the
task makes the endpoint named by ``deployment.endpoint_name`` serve the endpoint configuration recorded in
the snapshot's manifest: it creates the endpoint when there is none, updates it when it serves another
configuration, and leaves it alone when it already serves this one; it waits in the triggerer while
SageMaker creates or updates it, checks that the endpoint serves this version (a model container naming
the package, or the snapshot's image and model data: ``services/endpoints.py``), then reports
Deployment/Complete on the package (as the deployer would), so the sensor records the model Deployed from
SageMaker's word and the same check.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from model_governance.exceptions import InvalidInputError, RegistryError
from model_governance.lifecycle import GovernanceStatus
from model_governance.operators.base import ModelOperator, task_key
from model_governance.registry import MetadataKey

if TYPE_CHECKING:
    from airflow.sdk import Context

    from model_governance.hooks.sagemaker_jobs import SageMakerJobsHook


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
        # Every step is idempotent, so retries are safe; they also absorb Airflow's stale defer-exit race
        # (apache/airflow#72716), which fails a resumed task without running it.
        kwargs.setdefault("retries", 2)
        kwargs.setdefault("retry_delay", timedelta(seconds=30))
        super().__init__(**kwargs)
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

    def _target(self) -> tuple[str, str, str]:
        """(endpoint name, endpoint configuration name, snapshot content hash)."""
        from model_governance.workloads import endpoint_name

        snapshot = self.inventory.get_snapshot(int(self.snapshot_id))
        if snapshot.model_id != self.model.id:
            raise InvalidInputError(
                f"Snapshot {snapshot.id} belongs to model {snapshot.model_id}, not to model {self.model.id}; "
                "pass the snapshot_id that create_snapshot returned for this model."
            )
        config_name = (snapshot.manifest or {}).get("endpoint_config_name")
        if not config_name:
            raise InvalidInputError(
                f"Snapshot {snapshot.id} of {self.model.package_arn} records no endpoint configuration; "
                "set ENDPOINT_CONFIG in the package's customer metadata and take a new snapshot."
            )
        name = endpoint_name(
            self.config.deployment.endpoint_name,
            group_name=self.model.model_group.name,
            version=self.model.version,
            model_id=self.model.id,
            use_case_id=self.model.model_group.use_case_id,
        )
        return name, str(config_name), snapshot.content_hash

    def _step(self, context: Context, round_number: int) -> dict[str, Any]:
        from model_governance.workloads import CREATE, DONE, UPDATE, endpoint_step

        name, config_name, content_hash = self._target()
        hook = self.entity.jobs
        described = hook.describe_endpoint(name)
        step = endpoint_step(described, config_name)
        if step == DONE:
            assert described is not None
            return self._finish(context, name, config_name, content_hash, described, hook)
        if round_number > self.max_rounds:
            raise RegistryError(
                f"SageMaker endpoint {name} still does not serve {config_name!r} after {self.max_rounds} "
                f"round(s) (now {described and described.get('EndpointConfigName')!r}, "
                f"{described and described.get('EndpointStatus')!r}): someone else changes it too. Settle "
                "who deploys this endpoint, then clear this task."
            )
        if step == CREATE:
            tags = {
                **self.config.deployment.tags,
                MetadataKey.MODEL_ID: str(self.model.id),
                MetadataKey.SNAPSHOT: content_hash,
            }
            hook.create_endpoint(name, config_name, tags=tags)
            self.log.info("Creating endpoint %s with configuration %s", name, config_name)
        elif step == UPDATE:
            assert described is not None
            hook.update_endpoint(name, config_name)
            self.log.info(
                "Updating endpoint %s from configuration %s to %s",
                name,
                described.get("EndpointConfigName"),
                config_name,
            )
        else:
            self.log.info("Endpoint %s is %s; waiting", name, described and described.get("EndpointStatus"))
        self._defer(name, round_number + 1)

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

    def _finish(
        self,
        context: Context,
        name: str,
        config_name: str,
        content_hash: str,
        described: dict[str, Any],
        hook: SageMakerJobsHook,
    ) -> dict[str, Any]:
        """The endpoint runs the snapshot's configuration: if that serves this version, report
        Deployment/Complete in SageMaker, as a deployer would."""
        how = self._serves(described, hook)
        token = task_key(context)
        registry = self.entity.registry
        registry.write_status(
            self.model.package_arn,
            GovernanceStatus.DEPLOYED,
            token_parts=token,
            description=f"endpoint {name} InService with endpoint configuration {config_name} ({how})",
        )
        registry.put_metadata(self.model.package_arn, {MetadataKey.ENDPOINT: name}, token_parts=token)
        snapshot = self.inventory.mark_snapshot_deployed(int(self.snapshot_id))
        self.log.info("Endpoint %s serves %s (snapshot %s)", name, config_name, content_hash)
        return {
            "deployed_by": "governance",
            "endpoint": name,
            "endpoint_arn": described.get("EndpointArn"),
            "endpoint_config": config_name,
            "snapshot": snapshot.content_hash,
            "served_by": how,
        }

    def _serves(self, described: dict[str, Any], hook: SageMakerJobsHook) -> str:
        """How the endpoint serves this version (services/endpoints.py), or raise: Deployed means served."""
        from model_governance.services.endpoints import ApprovedVersion, EndpointResolver, variant_serves

        snapshot = self.inventory.get_snapshot(int(self.snapshot_id))
        approved = ApprovedVersion.from_manifest(self.model.package_arn, snapshot.manifest)
        resolver = EndpointResolver(hook)
        endpoint = resolver.resolve(described)
        for variant in endpoint.variants:
            how = variant_serves(variant, approved, resolver.etag)
            if how:
                return how
        raise InvalidInputError(
            f"Endpoint {endpoint.name} is {endpoint.status} with configuration {endpoint.config_name}, but "
            f"none of its models serves {self.model.package_arn} ({endpoint.problem or endpoint.summary()}). "
            "Create the configuration's model from the package (a container with ModelPackageName set to "
            "the version's ARN) or from the snapshot's image and ModelDataUrl, name that configuration in "
            "the package's ENDPOINT_CONFIG, take a new snapshot and approve it."
        )
