"""Deploying the snapshot's endpoint configuration on the model's SageMaker endpoint (step 7 of the MLC).

``EndpointDeployment`` makes the endpoint named by ``deployment.endpoint_name`` serve the endpoint
configuration recorded in the snapshot's manifest, one round at a time: it creates the endpoint when there
is none, updates it when it serves another configuration, and leaves it alone when it already serves this
one; a round that started (or found) a change asks to wait (``WaitOnEndpoint``) and the next round looks
again. Once the endpoint runs the configuration it checks that the endpoint serves this version (a model
container naming the package, or the snapshot's image and model data: ``services/endpoints.py``), reports
Deployment/Complete on the package (as an outside deployer would) and marks the snapshot deployed.

Plain class, collaborators passed in (the inventory, the entity's SageMaker jobs and registry hooks, the
deployment settings): ``operators.deployment.DeployEndpointOperator`` is its Airflow adapter (it waits in
the triggerer between rounds), the unit tests give it fakes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from model_governance.exceptions import InvalidInputError, RegistryError
from model_governance.lifecycle import GovernanceStatus
from model_governance.registry import MetadataKey

if TYPE_CHECKING:
    from model_governance.config import DeploymentConfig
    from model_governance.inventory import Inventory, Model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EndpointTarget:
    """What the endpoint should serve: its name, the snapshot's endpoint configuration and content hash."""

    name: str
    config_name: str
    content_hash: str


@dataclass(frozen=True)
class WaitOnEndpoint:
    """SageMaker is creating or updating the endpoint (or it is busy): wait until it settles, then take
    the next round."""

    name: str


class EndpointDeployment:
    """Have the model's endpoint serve the snapshot's endpoint configuration (see the module docstring).

    :param inventory: the governance inventory (the snapshot, the model's group; the snapshot marked
        deployed).
    :param jobs: the entity's ``SageMakerJobsHook`` (describe, create and update endpoints).
    :param registry: the entity's ``SageMakerRegistryHook`` (Deployment/Complete, the ENDPOINT metadata).
    :param model: the model version deployed.
    :param snapshot_id: the snapshot approved for production.
    :param settings: the ``deployment`` settings (endpoint name template, tags).
    :param max_rounds: how many create/update-then-wait rounds it may take.
    """

    def __init__(
        self,
        *,
        inventory: Inventory,
        jobs: Any,
        registry: Any,
        model: Model,
        snapshot_id: int,
        settings: DeploymentConfig,
        max_rounds: int = 3,
    ) -> None:
        self.inventory = inventory
        self.jobs = jobs
        self.registry = registry
        self.model = model
        self.snapshot_id = snapshot_id
        self.settings = settings
        self.max_rounds = max_rounds

    def target(self) -> EndpointTarget:
        """The endpoint's name and the snapshot's endpoint configuration; a snapshot of another model, or
        one without an endpoint configuration, is refused."""
        from model_governance.workloads import endpoint_name

        snapshot = self.inventory.get_snapshot(self.snapshot_id)
        model = self.model
        if snapshot.model_id != model.id:
            raise InvalidInputError(
                f"Snapshot {snapshot.id} belongs to model {snapshot.model_id}, not to model {model.id}; "
                "pass the snapshot_id that create_snapshot returned for this model."
            )
        config_name = (snapshot.manifest or {}).get("endpoint_config_name")
        if not config_name:
            raise InvalidInputError(
                f"Snapshot {snapshot.id} of {model.package_arn} records no endpoint configuration; "
                "set ENDPOINT_CONFIG in the package's customer metadata and take a new snapshot."
            )
        name = endpoint_name(
            self.settings.endpoint_name,
            group_name=model.model_group.name,
            version=model.version,
            model_id=model.id,
            use_case_id=model.model_group.use_case_id,
        )
        return EndpointTarget(name, str(config_name), snapshot.content_hash)

    def advance(self, round_number: int, token_parts: Sequence[str]) -> dict[str, Any] | WaitOnEndpoint:
        """One round: the deployment's result when the endpoint serves the configuration, else create or
        update it (or find it busy) and ask to wait. Refuses after ``max_rounds`` rounds."""
        from model_governance.workloads import CREATE, DONE, UPDATE, endpoint_step

        target = self.target()
        name, config_name = target.name, target.config_name
        described = self.jobs.describe_endpoint(name)
        step = endpoint_step(described, config_name)
        if step == DONE:
            assert described is not None
            return self.finish(target, described, token_parts)
        if round_number > self.max_rounds:
            raise RegistryError(
                f"SageMaker endpoint {name} still does not serve {config_name!r} after {self.max_rounds} "
                f"round(s) (now {described and described.get('EndpointConfigName')!r}, "
                f"{described and described.get('EndpointStatus')!r}): someone else changes it too. Settle "
                "who deploys this endpoint, then clear this task."
            )
        if step == CREATE:
            tags = {
                **self.settings.tags,
                MetadataKey.MODEL_ID: str(self.model.id),
                MetadataKey.SNAPSHOT: target.content_hash,
            }
            self.jobs.create_endpoint(name, config_name, tags=tags)
            log.info("Creating endpoint %s with configuration %s", name, config_name)
        elif step == UPDATE:
            assert described is not None
            self.jobs.update_endpoint(name, config_name)
            log.info(
                "Updating endpoint %s from configuration %s to %s",
                name,
                described.get("EndpointConfigName"),
                config_name,
            )
        else:
            log.info("Endpoint %s is %s; waiting", name, described and described.get("EndpointStatus"))
        return WaitOnEndpoint(name)

    def finish(
        self, target: EndpointTarget, described: dict[str, Any], token_parts: Sequence[str]
    ) -> dict[str, Any]:
        """The endpoint runs the snapshot's configuration: if that serves this version, report
        Deployment/Complete in SageMaker, as a deployer would."""
        name, config_name = target.name, target.config_name
        how = self.serves(described)
        arn = self.model.package_arn
        self.registry.write_status(
            arn,
            GovernanceStatus.DEPLOYED,
            token_parts=token_parts,
            description=f"endpoint {name} InService with endpoint configuration {config_name} ({how})",
        )
        self.registry.put_metadata(arn, {MetadataKey.ENDPOINT: name}, token_parts=token_parts)
        snapshot = self.inventory.mark_snapshot_deployed(self.snapshot_id)
        log.info("Endpoint %s serves %s (snapshot %s)", name, config_name, target.content_hash)
        return {
            "deployed_by": "governance",
            "endpoint": name,
            "endpoint_arn": described.get("EndpointArn"),
            "endpoint_config": config_name,
            "snapshot": snapshot.content_hash,
            "served_by": how,
        }

    def serves(self, described: dict[str, Any]) -> str:
        """How the endpoint serves this version (services/endpoints.py), or raise: Deployed means served."""
        from model_governance.services.endpoints import ApprovedVersion, EndpointResolver, variant_serves

        snapshot = self.inventory.get_snapshot(self.snapshot_id)
        approved = ApprovedVersion.from_manifest(self.model.package_arn, snapshot.manifest)
        resolver = EndpointResolver(self.jobs)
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
