"""The one governance write-back to SageMaker, used by the implementation MLC and the lifecycle sync.

Governance owns three things on a model package: its ``ModelLifeCycle`` (the mapping table's row for the
governance status), its ``ModelApprovalStatus`` (``lifecycle.approval_status_for``) and the ``governance:*``
links in its customer metadata and model card custom details. ``GovernanceWriteBack.write`` compares them with
the package as SageMaker describes it and sends what differs in one ``UpdateModelPackage``, with a
``ClientToken`` derived from the write's identity and the change itself, or nothing when all is in place.
No Airflow here: the registry is anything with ``describe_model_package`` and ``update_model_package`` (the
``SageMakerRegistryHook``, or a fake in unit tests).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from model_governance import model_cards
from model_governance.exceptions import InvalidInputError
from model_governance.lifecycle import GovernanceStatus, approval_status_for, parse_status, to_sagemaker
from model_governance.registry import (
    STAGE_DESCRIPTION_MAX,
    GovernanceLinks,
    check_metadata,
)

#: SageMaker's limit on ``ApprovalDescription``.
APPROVAL_DESCRIPTION_MAX = 1000


class PackageRegistry(Protocol):
    def describe_model_package(self, arn: str) -> dict[str, Any]: ...
    def update_model_package(
        self, arn: str, body: Mapping[str, Any], *, token_parts: Sequence[str]
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class FieldChange:
    """A governance-owned field SageMaker showed differently, and the value governance wrote instead."""

    field: str
    was: str | None
    now: str

    def __str__(self) -> str:
        return f"{self.field} {self.was or 'unset'} -> {self.now}"


@dataclass(frozen=True)
class WriteBackResult:
    """What one write-back sent (an empty ``body``: everything was in place, nothing was written)."""

    body: dict[str, Any]
    #: Lifecycle and approval values replaced (the links are not listed: they are governance's own).
    changes: tuple[FieldChange, ...] = ()

    @property
    def written(self) -> bool:
        return bool(self.body)

    def describe(self) -> str:
        return ", ".join(str(c) for c in self.changes) or "nothing"


def _lifecycle_pair(package: Mapping[str, Any]) -> str | None:
    lifecycle = package.get("ModelLifeCycle") or {}
    if not lifecycle.get("Stage"):
        return None
    return f"{lifecycle.get('Stage')}/{lifecycle.get('StageStatus')}"


def card_with_custom_details(
    arn: str, card: Mapping[str, Any] | None, details: Mapping[str, str]
) -> dict[str, str] | None:
    """The package's ``ModelCard`` with ``details`` in ``additional_information.custom_details``, or None
    when they are there already or the card is Archived: ``model_cards.card_with_links``, the one place
    governance writes a card's custom details (schema, ownership and size rules live there)."""
    return model_cards.card_with_links(arn, card, details)


def governance_changes(
    package: Mapping[str, Any],
    status: GovernanceStatus | str,
    *,
    links: GovernanceLinks | None = None,
    write_lifecycle: bool = True,
    description: str | None = None,
) -> WriteBackResult:
    """The ``UpdateModelPackage`` body that brings ``package`` in line with governance's ``status`` (pure).

    ``write_lifecycle`` False leaves the ``ModelLifeCycle`` alone: for a status SageMaker originates
    (Deployed, written by the deployer) or a lifecycle the table does not know (reported, not overwritten).
    """
    target = parse_status(status)
    arn = str(package["ModelPackageArn"])
    body: dict[str, Any] = {}
    changes: list[FieldChange] = []
    if write_lifecycle:
        wanted = to_sagemaker(target)
        pair = f"{wanted.stage}/{wanted.stage_status}"
        seen = _lifecycle_pair(package)
        if seen != pair:
            body["ModelLifeCycle"] = {"Stage": wanted.stage, "StageStatus": wanted.stage_status}
            if description:
                body["ModelLifeCycle"]["StageDescription"] = description[:STAGE_DESCRIPTION_MAX]
            changes.append(FieldChange("ModelLifeCycle", seen, pair))
    approval = approval_status_for(target)
    seen_approval = package.get("ModelApprovalStatus")
    if seen_approval != approval:
        body["ModelApprovalStatus"] = approval
        if description:
            body["ApprovalDescription"] = description[:APPROVAL_DESCRIPTION_MAX]
        changes.append(FieldChange("ModelApprovalStatus", seen_approval, approval))
    if links is not None:
        existing = package.get("CustomerMetadataProperties") or {}
        changed = {k: v for k, v in links.metadata().items() if existing.get(k) != v}
        if changed:
            check_metadata(changed, existing=existing)
            body["CustomerMetadataProperties"] = dict(sorted(changed.items()))
        card = card_with_custom_details(arn, package.get("ModelCard"), links.card_details())
        if card is not None:
            body["ModelCard"] = card
    return WriteBackResult(body, tuple(changes))


class GovernanceWriteBack:
    """Writes governance's values to a package: one call, only what differs, idempotent by its token."""

    def __init__(self, registry: PackageRegistry) -> None:
        self.registry = registry

    def write(
        self,
        status: GovernanceStatus | str,
        *,
        token_parts: Sequence[str],
        package: Mapping[str, Any] | None = None,
        arn: str | None = None,
        links: GovernanceLinks | None = None,
        write_lifecycle: bool = True,
        description: str | None = None,
    ) -> WriteBackResult:
        """Bring the package (``package`` as just read, or described now by ``arn``) in line with ``status``.

        ``token_parts`` name the write (dag_id, run_id, task_id; or the sync and the state it answers); the
        change itself is part of the token too, so a retry repeats it and a later, different change does not.
        """
        if package is None:
            if arn is None:
                raise InvalidInputError("GovernanceWriteBack.write needs the package or its arn")
            package = self.registry.describe_model_package(arn)
        result = governance_changes(
            package, status, links=links, write_lifecycle=write_lifecycle, description=description
        )
        if result.written:
            self.registry.update_model_package(
                str(package["ModelPackageArn"]),
                result.body,
                token_parts=(*token_parts, "governance", json.dumps(result.body, sort_keys=True)),
            )
        return result
