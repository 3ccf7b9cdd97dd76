"""SageMaker Model Registry rules, as pure functions: metadata limits, idempotency tokens, lifecycle payloads.

AWS validates these server-side; checking them here first turns a late ``ValidationException`` deep in a
DAG run into a clear error naming the key at fault, before anything is written.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from model_governance.exceptions import InvalidInputError
from model_governance.lifecycle import GovernanceStatus, approval_status_for, to_sagemaker

#: CustomerMetadataProperties limits (botocore service model, sagemaker 2017-07-24).
METADATA_MAX_ENTRIES = 50
METADATA_KEY_MAX = 128
METADATA_VALUE_MAX = 256
# AWS: [\p{L}\p{Z}\p{N}_.:/=+\-@]*. Python's re has no \p{..}; \w is letters, digits and _, and of the
# separators only the plain space is let through (stricter than AWS, never looser).
_METADATA_CHARS = re.compile(r"^[\w .:/=+\-@]*$")
STAGE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
STAGE_DESCRIPTION_MAX = 1024

#: Keys under which governance writes its links into a package's customer metadata.
GOVERNANCE_METADATA_PREFIX = "governance:"


class MetadataKey(StrEnum):
    """The ``governance:*`` keys, spelled here and nowhere else (customer metadata and group tags)."""

    USE_CASE_ID = "governance:use_case_id"
    MODEL_ID = "governance:model_id"
    STATUS = "governance:status"
    SNAPSHOT = "governance:snapshot"
    SNAPSHOT_ID = "governance:snapshot_id"
    JIRA = "governance:jira"
    DASHBOARD = "governance:dashboard"
    BUSINESS_ENTITY = "governance:business_entity"
    RISK_LEVEL = "governance:risk_level"
    ENDPOINT = "governance:endpoint"

    @property
    def card_field(self) -> str:
        """The same link's name among the model card's ``custom_details`` (no prefix there)."""
        return self.value.removeprefix(GOVERNANCE_METADATA_PREFIX)


@dataclass(frozen=True)
class GovernanceLinks:
    """What governance writes back into a package: its customer metadata and model card custom details."""

    use_case_id: int
    model_id: int
    status: str
    snapshot: str | None
    jira_keys: tuple[str, ...]
    dashboard_url: str | None

    @classmethod
    def from_inventory(cls, row: Mapping[str, Any], dashboard_base_url: str | None) -> GovernanceLinks:
        """From a row of ``Inventory.governance_links`` (and the dashboard's base URL, if any)."""
        base = dashboard_base_url.rstrip("/") if dashboard_base_url else None
        return cls(
            use_case_id=int(row["use_case_id"]),
            model_id=int(row["model_id"]),
            status=str(row["status"]),
            snapshot=row.get("snapshot"),
            jira_keys=tuple(row.get("jira_keys") or ()),
            dashboard_url=f"{base}/models/{row['model_id']}" if base else None,
        )

    def metadata(self) -> dict[str, str]:
        links = {
            MetadataKey.USE_CASE_ID.value: str(self.use_case_id),
            MetadataKey.MODEL_ID.value: str(self.model_id),
            MetadataKey.STATUS.value: self.status,
        }
        if self.snapshot:
            links[MetadataKey.SNAPSHOT.value] = self.snapshot
        keys = ""
        for key in reversed(self.jira_keys):  # newest first, as many as fit in one value
            candidate = f"{key} {keys}".strip()
            if len(candidate) > METADATA_VALUE_MAX:
                break
            keys = candidate
        if keys:
            links[MetadataKey.JIRA.value] = keys
        if self.dashboard_url and len(self.dashboard_url) <= METADATA_VALUE_MAX:
            links[MetadataKey.DASHBOARD.value] = self.dashboard_url
        return links

    def card_details(self) -> dict[str, str]:
        return {MetadataKey(key).card_field: value for key, value in self.metadata().items()}


def check_metadata(properties: Mapping[str, str], *, existing: Mapping[str, str] | None = None) -> None:
    """Raise ``InvalidInputError`` naming the first key or value AWS would refuse.

    ``existing`` is the package's current metadata: the 50-entry cap applies to the merged result.
    """
    for key, value in properties.items():
        if not 1 <= len(key) <= METADATA_KEY_MAX:
            raise InvalidInputError(
                f"Customer metadata key {key[:40]!r} is {len(key)} characters; SageMaker allows 1-128."
            )
        if not isinstance(value, str) or not 1 <= len(value) <= METADATA_VALUE_MAX:
            raise InvalidInputError(
                f"Customer metadata value of {key!r} must be a string of 1-256 characters (got "
                f"{len(str(value))}); store long values in S3 and put the s3:// URI here."
            )
        for label, text in (("key", key), ("value", value)):
            if not _METADATA_CHARS.match(text):
                raise InvalidInputError(
                    f"Customer metadata {label} {text[:60]!r} of {key!r} has characters SageMaker refuses; "
                    "use letters, digits, spaces and _ . : / = + - @ (no ?, & or #, so no presigned URLs)."
                )
    merged = {**(existing or {}), **properties}
    if len(merged) > METADATA_MAX_ENTRIES:
        raise InvalidInputError(
            f"Customer metadata would have {len(merged)} entries; SageMaker allows {METADATA_MAX_ENTRIES}. "
            "Remove keys (CustomerMetadataPropertiesToRemove) or keep fewer governance links."
        )


def client_token(*parts: str) -> str:
    """A ``ClientToken`` (1-36 characters) derived from the write's identity, never from the try number.

    The same DAG run, task and target give the same token, so a retried update is answered with the
    first result instead of being applied twice.
    """
    if not parts or not all(parts):
        raise InvalidInputError("client_token needs non-empty parts (e.g. dag_id, run_id, task_id, target).")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:36]


def lifecycle_update(
    status: GovernanceStatus | str, *, description: str | None = None, include_approval: bool = True
) -> dict[str, Any]:
    """The ``UpdateModelPackage`` arguments that write a governance status to SageMaker."""
    lifecycle = to_sagemaker(status)
    body: dict[str, Any] = {
        "ModelLifeCycle": {"Stage": lifecycle.stage, "StageStatus": lifecycle.stage_status}
    }
    if description:
        body["ModelLifeCycle"]["StageDescription"] = description[:STAGE_DESCRIPTION_MAX]
    if include_approval:
        body["ModelApprovalStatus"] = approval_status_for(status)
        if description:
            body["ApprovalDescription"] = description[:1000]
    return body
