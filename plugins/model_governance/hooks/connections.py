"""The AWS hooks of the business entities' connections, as Airflow makes them: one place for the task side
(``operators.base``) and the api-server (``ui.airflow_services``).

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
