"""Which AWS connection reaches a model's registry, and the hooks on it: looked up once per business entity.

Every step about a model works in the registry of the model's business entity: its Airflow AWS connection
and region, the SageMaker registry, S3 (data, snapshots, reports, documents) and SageMaker jobs and
endpoints. ``GovernanceConnections`` finds the entity (by name, by model or by model group, through the
inventory), then makes each hook on first use and keeps it for the entity. No Airflow here: the hook
factories are passed in (``hooks.connections.aws_hook_factories`` in Airflow, fakes in unit tests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, Protocol, cast

from model_governance.services.evidence_store import EvidenceStore

#: Makes a hook on an AWS connection in a region: ``factory(aws_conn_id, region_name)``.
HookFactory = Callable[[str | None, str | None], Any]
#: The factory of each kind of hook: "registry" (``SageMakerRegistryHook``), "s3" (``S3Hook``), "jobs"
#: (``SageMakerJobsHook``) and, for the lifecycle sync, "sqs" (``SqsHook``).
HookFactories = Mapping[str, HookFactory]


class EntitySettings(Protocol):
    """What a business entity says about its connection (the settings' entry or the inventory's row)."""

    @property
    def name(self) -> str: ...
    @property
    def aws_conn_id(self) -> str | None: ...
    @property
    def region(self) -> str | None: ...


class EntityDirectory(Protocol):
    """The inventory's answer to "which business entity is this model (group) in?"."""

    def business_entity_of_model(self, model: Any) -> Any: ...
    def business_entity_of_group(self, model_group_id: int) -> Any: ...


class EntityConnections:
    """One business entity's connection, region and hooks; each hook is made on first use, then kept."""

    def __init__(
        self, name: str, aws_conn_id: str | None, region: str | None, factories: HookFactories
    ) -> None:
        self.name = name
        self.aws_conn_id = aws_conn_id
        self.region = region
        self._factories = factories

    @cached_property
    def registry(self) -> Any:
        """The entity's ``SageMakerRegistryHook``."""
        return self._make("registry")

    @cached_property
    def s3(self) -> Any:
        """The entity's ``S3Hook``."""
        return self._make("s3")

    @cached_property
    def s3_client(self) -> Any:
        """The boto3 S3 client of the entity's ``S3Hook``."""
        return self.s3.get_conn()

    @cached_property
    def jobs(self) -> Any:
        """The entity's ``SageMakerJobsHook`` (Processing jobs, endpoints)."""
        return self._make("jobs")

    @cached_property
    def sqs(self) -> Any:
        return self._make("sqs")

    def _make(self, kind: str) -> Any:
        if kind not in self._factories:
            raise TypeError(f"No {kind!r} hook factory was given to GovernanceConnections.")
        return self._factories[kind](self.aws_conn_id, self.region)

    def evidence(self, bucket: str) -> EvidenceStore:
        """The evidence store in ``bucket`` (the governance bucket), written through this connection."""
        return EvidenceStore(lambda: self.s3_client, bucket, conn_id=self.aws_conn_id)


class GovernanceConnections:
    """The connections of every business entity a task touches, each looked up and built once.

    :param entity_settings: an entity's settings by name (``GovernanceConfig.business_entity``, which
        names the configured entities when the name is unknown).
    :param factories: how hooks are made.
    :param inventory: where models and groups are looked up (needed by ``of_model`` / ``of_group``), or a
        callable returning it on first use.
    """

    def __init__(
        self,
        *,
        entity_settings: Callable[[str], EntitySettings],
        factories: HookFactories,
        inventory: EntityDirectory | Callable[[], EntityDirectory] | None = None,
    ) -> None:
        self._settings = entity_settings
        self._factories = factories
        self._inventory = inventory
        self._entities: dict[tuple[str, str | None, str | None], EntityConnections] = {}
        self._entity_of_model: dict[int, str] = {}

    def entity(self, entity: str | EntitySettings) -> EntityConnections:
        """By the entity's name in the settings, or by an entity (settings or inventory row) as it stands."""
        found = self._settings(entity) if isinstance(entity, str) else entity
        return self._connections(found.name, found.aws_conn_id, found.region)

    def connection(self, aws_conn_id: str | None, region: str | None = None) -> EntityConnections:
        """An AWS connection named outright (an operator's ``aws_conn_id``; None: boto3's own)."""
        return self._connections(f"connection {aws_conn_id}", aws_conn_id, region)

    def _connections(self, name: str, aws_conn_id: str | None, region: str | None) -> EntityConnections:
        key = (name, aws_conn_id, region)
        if key not in self._entities:
            self._entities[key] = EntityConnections(name, aws_conn_id, region, self._factories)
        return self._entities[key]

    def of_model(self, model: Any) -> EntityConnections:
        """The connections of the registry a model version (a ``Model`` or its id) lives in."""
        model_id = int(getattr(model, "id", model))
        if model_id not in self._entity_of_model:
            self._entity_of_model[model_id] = self._directory().business_entity_of_model(model).name
        return self.entity(self._entity_of_model[model_id])

    def of_group(self, model_group_id: int) -> EntityConnections:
        return self.entity(self._directory().business_entity_of_group(model_group_id).name)

    def _directory(self) -> EntityDirectory:
        found = self._inventory
        if found is None:
            raise TypeError("GovernanceConnections needs the inventory to find a model's business entity.")
        if hasattr(found, "business_entity_of_model"):
            return cast("EntityDirectory", found)
        return cast("Callable[[], EntityDirectory]", found)()
