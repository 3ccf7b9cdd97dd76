"""Build the context of approval tickets and emails from the governance inventory (no Airflow import).

The inventory is the system of record, so ticket texts are rendered from what it holds, not from DAG
params a user could have changed since.
"""

from __future__ import annotations

from collections.abc import Sequence

from model_governance.config import ApprovalKind
from model_governance.documents.context import (
    Asset,
    DecisionRequest,
    Links,
    ModelInfo,
    SnapshotInfo,
    TicketContext,
    UseCaseInfo,
)
from model_governance.exceptions import InvalidInputError
from model_governance.inventory import Inventory, Model, Snapshot, UseCase


def use_case_info(inventory: Inventory, use_case: UseCase | int) -> UseCaseInfo:
    record = inventory.get_use_case(use_case) if isinstance(use_case, int) else use_case
    return UseCaseInfo(
        name=record.name,
        description=record.description,
        risk_level=record.risk_level,
        owner=record.owner,
        business_entity=record.business_entity.name,
        status=record.status,
        data_science_email=record.data_science_email,
        requested_by=record.requested_by,
    )


def model_info(model: Model) -> ModelInfo:
    return ModelInfo(
        group_name=model.model_group.name,
        group_arn=model.model_group.arn,
        version=model.version,
        package_arn=model.package_arn,
        governance_status=model.status,
        approval_status=model.approval_status,
    )


def snapshot_info(snapshot: Snapshot, *, pins: bool = True) -> SnapshotInfo:
    """What a document or ticket says about a snapshot; ``pins`` adds each asset's pinned version and
    SHA-256 and the snapshot's time (the review document), without them only URIs and ETags (tickets)."""
    manifest = snapshot.manifest or {}
    assets = [
        Asset(
            role=role,
            uri=str(item.get("uri")),
            digest=(item.get("etag") or item.get("digest")) if pins else (item.get("etag") or None),
            version_id=item.get("version_id") if pins else None,
            sha256=item.get("sha256") if pins else None,
        )
        for role, item in sorted((manifest.get("assets") or {}).items())
        if isinstance(item, dict) and item.get("uri")
    ]
    return SnapshotInfo(
        snapshot_id=str(snapshot.id),
        content_hash=snapshot.content_hash,
        uri=snapshot.uri,
        assets=assets,
        endpoint_config_name=manifest.get("endpoint_config_name"),
        suite_version=manifest.get("risk_test_suite_version"),
        created_at=snapshot.created_at if pins else None,
    )


def ticket_context(
    inventory: Inventory,
    *,
    kind: ApprovalKind | str,
    use_case_id: int | None = None,
    model_id: int | None = None,
    requested_by: str | None = None,
    approvers: Sequence[str] = (),
    links: Links | None = None,
) -> TicketContext:
    """The context of the ``kind`` ticket about a use case, or about a model (and so its use case)."""
    model = None
    if model_id is not None:
        model = inventory.get_model(model_id)
        use_case_id = inventory.use_case_of_group(model.model_group_id)
    if use_case_id is None:
        raise InvalidInputError(f"A {kind} ticket needs the use case or the model it is about.")
    return TicketContext(
        decision=DecisionRequest(
            kind=ApprovalKind(kind), approvers=tuple(approvers), requested_by=requested_by
        ),
        use_case=use_case_info(inventory, use_case_id),
        model=model_info(model) if model is not None else None,
        links=links or Links(),
    )
