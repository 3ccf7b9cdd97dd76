"""Build the context of approval tickets and emails from the governance inventory (no Airflow import).

The inventory is the system of record, so ticket texts are rendered from what it holds, not from DAG
params a user could have changed since.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

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


def model_info(model: Model, manifest: Mapping[str, Any] | None = None) -> ModelInfo:
    """The model version from the inventory, and from its snapshot ``manifest`` when given: description,
    registration time, artifacts with their digests, and the data scientist's model card as the snapshot
    recorded it (manifest version 3; an older manifest gets a note saying what it did not record)."""
    package: Mapping[str, Any] = (manifest or {}).get("model_package") or {}
    card = package.get("model_card") if isinstance(package.get("model_card"), Mapping) else None
    note = ""
    if manifest is not None and int(manifest.get("manifest_version") or 0) < 3:
        note = (
            f"The snapshot (manifest version {manifest.get('manifest_version')}) did not record the model "
            "card or the ModelMetrics reports; a new snapshot of the version records them."
        )
    return ModelInfo(
        group_name=model.model_group.name,
        group_arn=model.model_group.arn,
        version=model.version,
        package_arn=model.package_arn,
        governance_status=model.status,
        approval_status=model.approval_status,
        description=str(package.get("description") or ""),
        artifacts=artifacts_of(package),
        model_card=dict((card or {}).get("content") or {}),
        model_card_status=(card or {}).get("status"),
        created_at=_parse_time(package.get("creation_time")),
        note=note,
    )


def artifacts_of(package: Mapping[str, Any]) -> tuple[Asset, ...]:
    """The model artifacts a manifest's ``model_package`` pinned: each container's model data (URI, ETag,
    S3 version id) and its image (with the image digest SageMaker recorded)."""
    containers = [c for c in package.get("inference_containers") or [] if isinstance(c, Mapping)]
    found: list[Asset] = []
    for index, container in enumerate(containers, start=1):
        suffix = f" {index}" if len(containers) > 1 else ""
        data = container.get("model_data") if isinstance(container.get("model_data"), Mapping) else None
        url = (data or {}).get("uri") or container.get("model_data_url")
        if url:
            found.append(
                Asset(
                    f"MODEL_DATA{suffix}",
                    str(url),
                    digest=(data or {}).get("etag") or None,
                    version_id=(data or {}).get("version_id") or None,
                )
            )
        if container.get("image"):
            found.append(
                Asset(
                    f"INFERENCE_IMAGE{suffix}", str(container["image"]), container.get("image_digest") or None
                )
            )
    return tuple(found)


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


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
