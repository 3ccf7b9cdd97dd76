"""The AWS hooks of the business entities' connections, as Airflow makes them: one place for the task side
(``operators.base``) and the api-server (``ui.airflow_services``); and the base URL of an HTTP connection
(Jira, the Airflow REST API).

``services.connections.GovernanceConnections`` finds a business entity and keeps its hooks; it takes the
hook factories as a collaborator (no Airflow there). These are the Airflow ones: the Amazon provider's
``S3Hook`` and ``SqsHook`` and the package's SageMaker hooks, each imported on first use, so importing this
module pulls in neither Airflow's ``BaseOperator`` nor boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from model_governance.config import GovernanceConfig
    from model_governance.services.connections import GovernanceConnections, HookFactories


def aws_hook_factories() -> HookFactories:
    """The hooks of a business entity's connection, as Airflow makes them (imported on first use)."""

    def registry(conn_id: str | None, region: str | None) -> Any:
        from model_governance.hooks.sagemaker_registry import SageMakerRegistryHook

        return SageMakerRegistryHook(aws_conn_id=conn_id, region_name=region)

    def s3(conn_id: str | None, region: str | None) -> Any:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=conn_id, region_name=region)

    def jobs(conn_id: str | None, region: str | None) -> Any:
        from model_governance.hooks.sagemaker_jobs import SageMakerJobsHook

        return SageMakerJobsHook(aws_conn_id=conn_id, region_name=region)

    def sqs(conn_id: str | None, region: str | None) -> Any:
        from airflow.providers.amazon.aws.hooks.sqs import SqsHook

        return SqsHook(aws_conn_id=conn_id, region_name=region)

    return {"registry": registry, "s3": s3, "jobs": jobs, "sqs": sqs}


def governance_connections(config: GovernanceConfig, inventory: Any = None) -> GovernanceConnections:
    """The business entities' connections as an Airflow task (or the api-server) opens them.

    :param inventory: the inventory (or a callable returning it on first use), to find a model's entity.
    """
    from model_governance.services.connections import GovernanceConnections

    return GovernanceConnections(
        entity_settings=config.business_entity, factories=aws_hook_factories(), inventory=inventory
    )


def connection_base_url(conn: Any, *, label: str, wanted: str, default_scheme: str) -> str:
    """The base URL an Airflow connection names: its host, with ``default_scheme`` when the host has no
    scheme (the connection's schema field wins) and the connection's port when the host has none; no
    trailing slash. A connection without a host is refused, naming it (``label``) and what it should hold
    (``wanted``)."""
    from model_governance.exceptions import ConfigurationError

    host = (conn.host or "").rstrip("/")
    if not host:
        raise ConfigurationError(f"{label} {conn.conn_id!r} has no host; set it to {wanted}.")
    if "://" not in host:
        host = f"{conn.schema or default_scheme}://{host}"
    if conn.port and host.count(":") < 2:
        host = f"{host}:{conn.port}"
    return host
